// The typed boundary of the native addon (native/, built to native/build/Release/kotel_native.node).
// The addon is generic: it knows BPF objects, programs, maps and ring buffers, never a probe family.

/** How a program attaches. The target of tp_btf/raw_tp/tp/fentry/fexit/kprobe/kretprobe comes from the
 * program's SEC() name unless the rung names one (kprobe/fentry family); uprobes attach by file offset (resolve it with resolveSymbol). */
export type HookKind = 'tp_btf' | 'raw_tp' | 'tp' | 'fentry' | 'fexit' | 'kprobe' | 'kretprobe' | 'uprobe' | 'uretprobe';

export interface Rung {
  /** program (function) name in the object */
  program: string;
  kind: HookKind;
  /** uprobe/uretprobe only: the ELF file and the file offset of the function */
  binary?: string;
  offset?: number;
  /** uprobe only: restrict to one process (-1 or absent: all processes) */
  pid?: number;
  /** kprobe/kretprobe/fentry/fexit: the kernel function to attach to, overriding the SEC() name (which may
   * then be bare: SEC("kprobe"), SEC("fentry")) — e.g. a name resolved at load from /proc/kallsyms */
  target?: string;
}

export interface OpenOptions {
  /** `const volatile` globals in .rodata (targ_*), set before load. Unknown names throw. */
  rodata?: Record<string, number | bigint | boolean>;
  /** max_entries overrides by map name, applied before load. Unknown names throw. */
  maxEntries?: Record<string, number>;
  /** probe name -> rungs in order of preference; the first rung that loads and attaches wins. Programs
   * in no ladder and not in `loadOnly` are not loaded. The chosen rungs are attached in the ladders'
   * order. */
  ladders: Record<string, Rung[]>;
  /** programs to load without attaching (attached later with attachUprobe) */
  loadOnly?: string[];
  /** clear BPF_F_NO_PREALLOC on every hash map before load (kernels before 6.1: see host/kernelRelease.ts) */
  preallocateHashMaps?: boolean;
}

export interface RungFailure {
  program: string;
  kind: HookKind;
  /** libbpf operation that failed, e.g. 'bpf_object__load', 'bpf_program__attach_raw_tracepoint' */
  op: string;
  errno: number;
  code: string;
  /** one line: why, in words (includes the last verifier line on load failures) */
  reason: string;
}

export interface AttachReport {
  probe: string;
  attached: boolean;
  /** the winning rung, when attached */
  program?: string;
  kind?: HookKind;
  /** every rung tried before the winner (or all of them when none attached) */
  failures: RungFailure[];
}

export interface FieldLayout {
  offset: number;
  size: number;
}

export interface TypeLayout {
  size: number;
  /** nested structs flattened with dots: 'tuple.saddr'; arrays as one field of their whole size */
  fields: Record<string, FieldLayout>;
}

export interface MapInfo {
  name: string;
  /** libbpf's name of the map type: 'hash', 'percpu_hash', 'array', 'percpu_array', 'ringbuf', ... */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** per-CPU map: each value in readMap is valueSize rounded up to 8, times possibleCpus() (readMapSummed: once) */
  percpu: boolean;
  /** map_flags as the kernel created the map (BPF_F_NO_PREALLOC = 1, ...) */
  flags: number;
}

export interface MapBatch {
  count: number;
  /** count keys of keySize bytes, back to back */
  keys: Buffer;
  /** count values of valueStride bytes, back to back */
  values: Buffer;
  /** bytes per entry in values: valueSize, or round_up(valueSize, 8) * possibleCpus() for per-CPU maps */
  valueStride: number;
}

/** readMapNonzero: each value's nonzero u64 words (summed over CPUs for a per-CPU map) */
export interface NonzeroBatch {
  count: number;
  /** count keys of keySize bytes, back to back */
  keys: Buffer;
  /** u32 words, entry after entry in key order: n, then n x (u64 word index in the value, low half, high half) */
  words: Buffer;
}

export interface ProgStats {
  program: string;
  /** cumulative, while run-time stats are enabled (kernel.bpf_stats_enabled or enableRunTimeStats) */
  runTimeNs: bigint;
  runCount: bigint;
  /** times the program was not run because another BPF program was running on that CPU */
  recursionMisses: bigint;
  /** hits of its kprobe/kretprobe links the kernel skipped (all of a kretprobe's maxactive instances in use,
   * or a kprobe nested in another); absent when it has no such link or the kernel does not say (before 6.7) */
  kprobeMisses?: bigint;
}

/** Called once per drained batch: records back to back, each [u32 length][u32 0][record][pad to 8]. */
export type RingBatchCallback = (batch: Buffer, count: number) => void;

export interface RingBuffer {
  /** records delivered so far */
  readonly delivered: number;
  /** drain what is there now, synchronously (delivers a batch if any) */
  drain(): number;
  /** idempotent */
  close(): void;
}

export declare class BpfObject {
  /** opens the ELF object, applies options, chooses a rung per ladder by trying, loads and attaches.
   * Throws BpfError only when nothing can be loaded at all (bad file, bad knob, bad map name); a ladder
   * with no working rung is reported in `attachments`, not thrown. */
  static open(path: string, options: OpenOptions): BpfObject;
  readonly path: string;
  readonly attachments: AttachReport[];
  layout(typeName: string): TypeLayout;
  mapInfo(name: string): MapInfo;
  mapNames(): string[];
  /** batch lookup of every entry (BPF_MAP_LOOKUP_BATCH; arrays included) */
  readMap(name: string): MapBatch;
  /** readMap with a per-CPU map's values summed over CPUs, u64 by u64 (wrapping): valueStride is
   * round_up(valueSize, 8); read a few MB at a time, so memory stays bounded on many CPUs. Other maps: readMap. */
  readMapSummed(name: string): MapBatch;
  /** readMapSummed keeping only each value's nonzero u64 words: what a sparse value (a histogram with few
   * buckets in use) costs to hand over is its nonzero words, not its size */
  readMapNonzero(name: string): NonzeroBatch;
  /** deletes `count` keys from `keys` (back to back); returns how many were deleted */
  deleteKeys(name: string, keys: Buffer, count: number): number;
  /** consumes a BPF_MAP_TYPE_RINGBUF on the libuv loop (epoll fd polled by uv_poll, no thread) */
  openRingBuffer(name: string, onBatch: RingBatchCallback): RingBuffer;
  /** attaches a loaded program as a uprobe; returns a link id for detach() */
  attachUprobe(program: string, binary: string, offset: number, retprobe: boolean, pid?: number): number;
  detach(linkId: number): void;
  progStats(): ProgStats[];
  /** destroys links, ring buffers and the object; idempotent. Also run by an env cleanup hook. */
  close(): void;
}

export interface SymbolInfo {
  /** file offset to pass to uprobes */
  offset: number;
  /** the version node the symbol was resolved to ('IBVERBS_1.1'), or '' when unversioned */
  version: string;
}

export interface NativeBinding {
  /** unchecked: the addon trusts its options; open objects through index.ts's BpfObject, which checks them */
  BpfObject: typeof BpfObject;
  /** must be called once before anything else: the class the addon constructs its errors with */
  setErrorClass(ctor: new (op: string, errno: number, code: string, message: string) => Error): void;
  /** number of possible CPUs (libbpf_num_possible_cpus) */
  possibleCpus(): number;
  /** BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): stats on while held; returns false when refused */
  enableRunTimeStats(): boolean;
  disableRunTimeStats(): void;
  /** default-version (@@) dynamic symbol `name` in an ELF file, skipping hidden (compat @) versions */
  resolveSymbol(binary: string, name: string): SymbolInfo;
  /** name_to_handle_at(AT_HANDLE_FID) of a file as "<type>:<hex>"; undefined where none is encoded (an
   * overlay file: its real file in its layer, since 6.6) */
  fileId(path: string): string | undefined;
  /** libbpf version string */
  libbpfVersion(): string;
  /** one sd_notify datagram (state: "READY=1\nSTATUS=...") to an AF_UNIX socket: an absolute path or "@name"
   * (abstract); never blocks; throws a BpfError when it cannot be sent. Unchecked: use host/systemd.ts */
  notify(socket: string, state: string): void;
}
