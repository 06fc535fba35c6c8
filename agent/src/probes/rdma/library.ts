// Finds libibverbs.so.1 and turns its verbs into uprobe ladders: the configured path, else the one ldconfig
// knows; the default-version (@@) symbol of each verb is resolved by the addon (libbpf 1.1 cannot attach
// versioned names). Processes whose library is another file (containers) are found through /proc/PID/maps
// (libraryScan.ts).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { native, type Rung } from '../../native';

/** program base name in bpf/rdma.bpf.c (<base>_in / <base>_out) → libibverbs symbol. ibv_reg_mr jumps to
 * ibv_reg_mr_iova2, so hooking both would count every registration twice. */
export const VERB_SYMBOLS: ReadonlyArray<readonly [string, string]> = [
  ['open_device', 'ibv_open_device'],
  ['close_device', 'ibv_close_device'],
  ['alloc_pd', 'ibv_alloc_pd'],
  ['dealloc_pd', 'ibv_dealloc_pd'],
  ['create_cq', 'ibv_create_cq'],
  ['destroy_cq', 'ibv_destroy_cq'],
  ['reg_mr', 'ibv_reg_mr_iova2'],
  ['dereg_mr', 'ibv_dereg_mr'],
  ['create_qp', 'ibv_create_qp'],
  ['modify_qp', 'ibv_modify_qp'],
  ['destroy_qp', 'ibv_destroy_qp'],
  ['query_gid', 'ibv_query_gid'],
];

export const LIBRARY_NAME = 'libibverbs.so.1';

/** the library to hook: `configured` when set (must exist), else ldconfig's libibverbs.so.1 */
export function findLibrary(configured: string): string {
  if (configured) {
    if (!fs.existsSync(configured))
      throw new Error(
        `families.rdma.library: ${configured} does not exist: set it to the path of ${LIBRARY_NAME} or leave it empty to ask ldconfig`,
      );
    return configured;
  }
  let out = '';
  try {
    out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* no ldconfig: fall through */
  }
  for (const line of out.split('\n')) {
    const m = /^\s*libibverbs\.so\.1 \(([^)]*)\) => (\S+)/.exec(line);
    if (m && (process.arch !== 'x64' || m[1].includes('x86-64'))) return m[2];
  }
  throw new Error(`${LIBRARY_NAME} not found by ldconfig: install libibverbs1 (or set families.rdma.library)`);
}

export interface VerbOffset {
  base: string;
  symbol: string;
  offset: number;
}

/** file offsets of every hooked verb in `binary`; throws naming the missing symbol */
export function resolveVerbs(binary: string): VerbOffset[] {
  return VERB_SYMBOLS.map(([base, symbol]) => {
    try {
      return { base, symbol, offset: native.resolveSymbol(binary, symbol).offset };
    } catch (err) {
      throw new Error(`${binary}: cannot resolve ${symbol}: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** one ladder per hook: `ibv_create_qp` (uprobe) and `ibv_create_qp:return` (uretprobe) */
export function uprobeLadders(binary: string, verbs: VerbOffset[]): Record<string, Rung[]> {
  const ladders: Record<string, Rung[]> = {};
  for (const { base, symbol, offset } of verbs) {
    ladders[symbol] = [{ program: `${base}_in`, kind: 'uprobe', binary, offset }];
    ladders[`${symbol}:return`] = [{ program: `${base}_out`, kind: 'uretprobe', binary, offset }];
  }
  return ladders;
}

/** statfs f_type of overlayfs */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

/** the identity of the file uprobes attach to: dev:inode, but for an overlay file the real file in its
 * layer (uprobes hook d_real_inode), which stat does not show: two overlay mounts of one image report two
 * st_dev for one hooked inode. Its AT_HANDLE_FID file handle names that real file (kernel 6.6+); before,
 * dev:inode, and two mounts of one image get one uprobe set each (both fire; counts stay exact, since an
 * entry is taken once at return). */
export function fileIdentity(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    const fid = fs.statfsSync(file).type === OVERLAYFS_SUPER_MAGIC ? native.fileId(file) : undefined;
    return fid ? `overlay:${fid}` : `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** libibverbs files in one /proc/PID/maps text, by identity, as paths readable from here
 * (/proc/PID/root/... reaches into the process's mount namespace) */
export function mappedLibraries(maps: string, root: string): Map<string, string> {
  const paths = new Set<string>();
  let from = 0;
  for (;;) {
    const at = maps.indexOf('libibverbs.so', from);
    if (at < 0) break;
    const lineStart = maps.lastIndexOf('\n', at) + 1;
    const lineEnd = maps.indexOf('\n', at);
    from = lineEnd < 0 ? maps.length : lineEnd;
    const line = maps.slice(lineStart, from);
    const slash = line.indexOf('/');
    if (slash >= 0) paths.add(line.slice(slash).replace(/ \(deleted\)$/, ''));
  }
  const found = new Map<string, string>();
  for (const p of paths) {
    const file = root + p;
    const id = fileIdentity(file);
    if (id && !found.has(id)) found.set(id, file);
  }
  return found;
}
