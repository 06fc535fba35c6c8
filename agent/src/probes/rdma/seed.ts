// Kernel path: the RDMA objects that exist when kotel starts, from RDMA netlink through iproute2's `rdma`
// tool (`rdma -j resource show <type>`). Seeds are counted in rdma.resource.count until the kernel deletes
// them (rdma_gone map: deletes of objects kotel did not see added, by device, type and restrack id).
import { execFileSync } from 'node:child_process';
import type { LiveObject } from './objects';

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
export function seedFromNetlink(cgroupOf: (pid: number | undefined) => number, run = runRdma): SeedResult {
  const objects: SeededObject[] = [];
  for (const t of SEED_TYPES) {
    let out: string;
    try {
      out = run(['-j', 'resource', 'show', t.show]);
    } catch (err) {
      const e = err as { code?: string; stderr?: Buffer | string };
      if (e.code === 'ENOENT') return { ok: false, reason: '`rdma` (iproute2) not installed' };
      const msg = String(e.stderr ?? '').trim().split('\n')[0] || (err as Error).message;
      return { ok: false, reason: `rdma resource show ${t.show}: ${msg}` };
    }
    if (out.trim()) objects.push(...parseResources(out, t.type, t.id, cgroupOf));
  }
  return { ok: true, objects };
}

function runRdma(args: string[]): string {
  return execFileSync('rdma', args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
}
