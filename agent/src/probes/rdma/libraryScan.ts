// Containers may carry their own libibverbs file: uprobes attach to a file (inode), so the host library's
// hooks never fire there. Every interval, the libraries mapped by running processes are listed and every
// new file gets the same programs attached; a file no process maps any more is detached again.
//
// Incremental: /proc/PID/maps (which takes the process's mmap_lock and formats every mapping) is read only
// for a process not seen before, or whose /proc/PID/stat (no mmap_lock) changed in start time (the pid was
// reused), start of stack (an exec: randomized anew) or virtual size (an mmap or munmap, as dlopen and
// dlclose do). Exits are learnt from the /proc listing alone. The scan yields to the event loop after each
// SLICE_MS of work. Not done: skipping processes of the agent's own mount namespace (a host process can load
// another copy by path or LD_LIBRARY_PATH), and a BPF hook on mmap (it would run on every mmap of the
// machine). Missed until the next change in size: a dlopen that an munmap of the same size offsets
// between two scans.
import * as fs from 'node:fs';
import type { FamilyContext, FamilyRuntime } from '../types';
import { fileIdentity, mappedLibraries, resolveVerbs } from './library';

/** work between two yields to the event loop (ms) */
const SLICE_MS = 1;

/** what one scan read, for the bench */
export interface ScanCounts {
  processes: number;
  /** /proc/PID/stat and /proc/PID/maps files read (and the /proc listing) */
  filesRead: number;
  mapsRead: number;
}

export interface LibraryHooks {
  /** attaches the verb programs to `file`; returns the link ids; throws why not */
  attach(file: string): number[];
  detach(links: number[]): void;
  info(msg: string): void;
  warn(msg: string): void;
}

/** start time, start of stack and virtual size from /proc/PID/stat; undefined when the process is gone */
function statKey(procRoot: string, pid: string): string | undefined {
  let stat: string;
  try {
    // open + one read into a kept buffer: a third of readFileSync's time on procfs (no size to fstat)
    const fd = fs.openSync(`${procRoot}/${pid}/stat`, 'r');
    try {
      stat = statBuffer.toString('latin1', 0, fs.readSync(fd, statBuffer, 0, statBuffer.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // fields after the command name, which may hold spaces and parentheses: [0] is field 3 (state)
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return `${f[19]} ${f[25]} ${f[20]}`;
}

const statBuffer = Buffer.alloc(4096);
/** the process start time in a statKey */
const startOf = (key: string) => key.slice(0, key.indexOf(' '));
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class LibraryScanner {
  /** pid → its stat key when its maps were read, and the identities it mapped then */
  private readonly procs = new Map<string, { key: string; libs: Map<string, string> }>();
  /** identity → the path the links hold (through the mount namespace of process `pid`, started at `start`),
   * link ids, the paths it was seen by */
  private readonly attached = new Map<string, { file: string; pid: string; start: string; links: number[]; paths: Set<string> }>();
  private readonly failed = new Set<string>();
  private closed = false;

  constructor(
    private readonly hooks: LibraryHooks,
    private readonly hostId: string | undefined,
    private readonly procRoot = '/proc',
  ) {}

  async scan(): Promise<ScanCounts> {
    const counts: ScanCounts = { processes: 0, filesRead: 1, mapsRead: 0 };
    let pids: string[];
    try {
      pids = fs.readdirSync(this.procRoot).filter((d) => /^\d+$/.test(d));
    } catch {
      return counts;
    }
    const listed = new Set(pids);
    for (const pid of this.procs.keys()) if (!listed.has(pid)) this.procs.delete(pid);
    let sliceStart = performance.now();
    for (const pid of pids) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
      if (this.closed) return counts;
      const key = statKey(this.procRoot, pid);
      counts.filesRead++;
      if (key === undefined) {
        this.procs.delete(pid);
        continue;
      }
      counts.processes++;
      if (this.procs.get(pid)?.key === key) continue;
      let libs = new Map<string, string>();
      // virtual size 0: a kernel thread or a zombie, no mappings
      if (!key.endsWith(' 0')) {
        let maps = '';
        try {
          maps = fs.readFileSync(`${this.procRoot}/${pid}/maps`, 'utf8');
        } catch {
          /* exited since its stat was read */
        }
        counts.filesRead++;
        counts.mapsRead++;
        libs = mappedLibraries(maps, `${this.procRoot}/${pid}/root`);
      }
      this.procs.set(pid, { key, libs });
      for (const [id, file] of libs) this.attachOnce(id, file, pid, key);
    }
    this.settle();
    return counts;
  }

  private attachOnce(id: string, file: string, pid: string, key: string): void {
    if (id === this.hostId || this.failed.has(id)) return;
    const known = this.attached.get(id);
    if (known) {
      // another path to a hooked file: a second overlay mount of one image layer
      if (!known.paths.has(shown(file))) {
        known.paths.add(shown(file));
        this.hooks.info(`rdma: ${shown(file)} is ${shown(known.file)} (${id}), already hooked`);
      }
      return;
    }
    try {
      this.attached.set(id, { file, pid, start: startOf(key), links: this.hooks.attach(file), paths: new Set([shown(file)]) });
      this.hooks.info(`rdma: attached to another ${shown(file)} (${id}) found in ${file}`);
    } catch (err) {
      // a process that exited meanwhile is no reason to give up on the file
      if (!fs.existsSync(file)) return;
      this.failed.add(id);
      this.hooks.warn(`rdma: cannot attach to ${file}: ${(err as Error).message}`);
    }
  }

  // The kernel keeps a reference to the path a uprobe was attached by (trace_uprobe's path): left attached,
  // it keeps that mount busy, and an exited container's overlay rootfs cannot be unmounted. So a file no
  // process maps is detached, and one whose attaching process exited is held through a live mapper instead.
  private settle(): void {
    const mappers = new Map<string, { pid: string; key: string; file: string }>();
    for (const [pid, { key, libs }] of this.procs) for (const [id, file] of libs) if (!mappers.has(id)) mappers.set(id, { pid, key, file });
    for (const [id, entry] of this.attached) {
      const mapper = mappers.get(id);
      if (!mapper) {
        this.hooks.detach(entry.links);
        this.attached.delete(id);
        this.hooks.info(`rdma: detached from ${shown(entry.file)} (${id}): no process maps it any more`);
        continue;
      }
      const anchor = this.procs.get(entry.pid);
      if (anchor && startOf(anchor.key) === entry.start) continue;
      try {
        const links = this.hooks.attach(mapper.file);
        this.hooks.detach(entry.links);
        this.hooks.info(
          `rdma: ${shown(entry.file)} (${id}) now hooked through process ${mapper.pid}: process ${entry.pid}, whose mount held it, exited`,
        );
        Object.assign(entry, { file: mapper.file, pid: mapper.pid, start: startOf(mapper.key), links });
      } catch (err) {
        this.hooks.warn(
          `rdma: cannot hook ${mapper.file} again: ${(err as Error).message}; ${shown(entry.file)} stays hooked through an exited process's mount`,
        );
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const { links } of this.attached.values()) this.hooks.detach(links);
    this.attached.clear();
  }
}

const shown = (file: string) => file.replace(/^\/proc\/\d+\/root/, '');

export function startLibraryScan(ctx: FamilyContext, hostLibrary: string, intervalMs: number): FamilyRuntime {
  const scanner = new LibraryScanner(
    {
      attach: (file) => {
        const links: number[] = [];
        try {
          for (const v of resolveVerbs(file)) {
            links.push(ctx.object.attachUprobe(`${v.base}_in`, file, v.offset, false));
            links.push(ctx.object.attachUprobe(`${v.base}_out`, file, v.offset, true));
          }
          return links;
        } catch (err) {
          for (const l of links) ctx.object.detach(l);
          throw err;
        }
      },
      detach: (links) => {
        for (const l of links) ctx.object.detach(l);
      },
      info: (msg) => ctx.logger.info(msg),
      warn: (msg) => ctx.logger.warn(msg),
    },
    fileIdentity(hostLibrary),
  );
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // the next scan is timed from the end of the last one: two never overlap
  const loop = () => {
    scanner
      .scan()
      .catch((err) => ctx.logger.warn(`rdma: library scan failed: ${(err as Error).message}`))
      .finally(() => {
        if (closed) return;
        timer = setTimeout(loop, intervalMs);
        timer.unref();
      });
  };
  loop();
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      scanner.close();
    },
  };
}
