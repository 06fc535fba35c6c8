// Kernel path: the RDMA objects that exist when kotel starts, from RDMA netlink through iproute2's `rdma`
// tool (`rdma -j resource show <type>`). Seeds are counted in rdma.resource.active until the kernel deletes
// them (rdma_gone map: deletes of objects kotel did not see added, by device, type and restrack id).
// Asked asynchronously: start-up does not wait for it, and a host with many objects lists megabytes.
import { execFile } from 'node:child_process';
import type { LiveObject } from './objects';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext } from '../types';
import type { MapBatch } from '../../native';

/** bound on one `rdma -j resource show` listing: ~300 B per QP, so room for ~800k objects */
export const SEED_MAX_BYTES = 256 * 1024 * 1024;
const SEED_TIMEOUT_MS = 30_000;

/** `rdma resource show` object → enum rdma_resource (bpf/rdma.h, rdma_kernel.h) and its id field */
export const SEED_TYPES: ReadonlyArray<{ show: string; type: number; id: string }> = [
  { show: 'ctx', type: 1, id: 'ctxn' },
  { show: 'pd', type: 2, id: 'pdn' },
  { show: 'cq', type: 3, id: 'cqn' },
  { show: 'mr', type: 4, id: 'mrn' },
  { show: 'qp', type: 5, id: 'lqpn' },
  { show: 'srq', type: 6, id: 'srqn' },
  { show: 'cm_id', type: 7, id: 'cm-idn' },
];

export interface SeededObject extends LiveObject {
  id: number;
}

export function seedKey(device: string, type: number, id: number): string {
  return `${device}|${type}|${id}`;
}

/** parses `rdma -j resource show <show>` output; `cgroupOf(pid)` for the owner (kernel users: no pid) */
export function parseResources(json: string, type: number, idField: string, cgroupOf: (pid: number | undefined) => number): SeededObject[] {
  const rows = JSON.parse(json) as Array<Record<string, unknown>>;
  const out: SeededObject[] = [];
  for (const r of Array.isArray(rows) ? rows : []) {
    const id = r[idField];
    if (typeof id !== 'number' || typeof r.ifname !== 'string') continue;
    const pid = typeof r.pid === 'number' ? r.pid : undefined;
    out.push({ id, type, device: r.ifname, tgid: pid ?? 0, cgroupId: cgroupOf(pid) });
  }
  return out;
}

export type SeedResult = { ok: true; objects: SeededObject[] } | { ok: false; reason: string };

/** every object netlink lists now; { ok: false } with the reason when the host does not tell */
export async function seedFromNetlink(
  cgroupOf: (pid: number | undefined) => number,
  run = runRdma,
  signal?: AbortSignal,
): Promise<SeedResult> {
  const objects: SeededObject[] = [];
  for (const t of SEED_TYPES) {
    let out: string;
    try {
      out = await run(['-j', 'resource', 'show', t.show], signal);
    } catch (err) {
      const e = err as { code?: string; stderr?: Buffer | string };
      if (e.code === 'ENOENT') return { ok: false, reason: '`rdma` (iproute2) not installed' };
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
        return { ok: false, reason: `rdma resource show ${t.show}: more than ${SEED_MAX_BYTES >> 20} MiB of output` };
      const msg =
        String(e.stderr ?? '')
          .trim()
          .split('\n')[0] || (err as Error).message.split('\n')[0];
      return { ok: false, reason: `rdma resource show ${t.show}: ${msg}` };
    }
    try {
      if (out.trim()) objects.push(...parseResources(out, t.type, t.id, cgroupOf));
    } catch (err) {
      return { ok: false, reason: `rdma resource show ${t.show}: unreadable output (${(err as Error).message})` };
    }
  }
  return { ok: true, objects };
}

function runRdma(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rdma', args, { encoding: 'utf8', timeout: SEED_TIMEOUT_MS, maxBuffer: SEED_MAX_BYTES, signal }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
  });
}

/** objects seeded from netlink at start, until the kernel deletes them (rdma_gone) */
export class Seeds {
  private readonly seeds = new Map<string, SeededObject>();
  /** every object netlink listed: a seed no longer in `seeds` was deleted */
  private readonly listed = new Set<string>();
  /** false while netlink is being asked: rdma_gone keeps its deletes for the seeds to come */
  private settled = false;
  private readonly gone?: RecordReader<'type' | 'id' | 'device'>;

  /** objects: netlink's answer; undefined while it is awaited (settle()) */
  constructor(
    private readonly ctx: Pick<FamilyContext, 'object'> | undefined,
    objects?: SeededObject[],
  ) {
    if (ctx) this.gone = new RecordReader(ctx.object.layout('rdma_gone_key'), ['type', 'id', 'device'] as const, 'rdma_gone_key');
    if (objects) this.settle(objects);
  }

  get size(): number {
    return this.seeds.size;
  }

  /** netlink's answer ([] when it gave none: the deletes then only count in rdma.resource.untracked) */
  settle(objects: SeededObject[]): void {
    for (const o of objects) {
      const key = seedKey(o.device, o.type, o.id);
      this.seeds.set(key, o);
      this.listed.add(key);
    }
    this.settled = true;
  }

  /** maintenance: takes deleted objects off (and out of rdma_gone), and those the kernel map tracks itself
   * (added between attach and seed); returns the seeds left */
  live(tracked: LiveObject[]): LiveObject[] {
    if (!this.settled) return [];
    const gone = this.readGone();
    if (gone) {
      for (const key of gone.keys) this.seeds.delete(key);
      if (gone.batch.count) this.ctx!.object.deleteKeys('rdma_gone', gone.batch.keys, gone.batch.count);
    }
    if (this.seeds.size) for (const t of tracked) this.remove(t.device, t.type, t.handle ?? -1);
    return [...this.seeds.values()];
  }

  /** what live() would return, changing nothing (for collections) */
  current(tracked: LiveObject[]): LiveObject[] {
    if (!this.settled) return [];
    const skip = new Set(this.readGone()?.keys);
    for (const t of tracked) skip.add(seedKey(t.device, t.type, t.handle ?? -1));
    return [...this.seeds].filter(([key]) => !skip.has(key)).map(([, o]) => o);
  }

  /** the seed keys of rdma_gone's deletes, and the batch read */
  private readGone(): { keys: string[]; batch: MapBatch } | undefined {
    if (!this.ctx || !this.gone) return undefined;
    const batch = this.ctx.object.readMap('rdma_gone');
    const keys: string[] = [];
    for (let i = 0; i < batch.count; i++) {
      const base = i * this.gone.size;
      keys.push(
        seedKey(this.gone.str(batch.keys, base, 'device'), this.gone.u32(batch.keys, base, 'type'), this.gone.u32(batch.keys, base, 'id')),
      );
    }
    return { keys, batch };
  }

  remove(device: string, type: number, id: number): void {
    this.seeds.delete(seedKey(device, type, id));
  }

  /** live: seeded and not deleted; gone: seeded, since deleted; unknown: netlink did not list it */
  state(device: string, type: number, id: number): 'live' | 'gone' | 'unknown' {
    const key = seedKey(device, type, id);
    if (this.seeds.has(key)) return 'live';
    return this.listed.has(key) ? 'gone' : 'unknown';
  }
}
