// RDMA family, kernel path (bpf/rdma_kernel.bpf.c, ABI in bpf/rdma_kernel.h): ib_core's restrack add/del
// (and commit_del) and _ib_modify_qp, for hosts with RDMA (the rdma_cma tracepoints: cm.ts). A family of its own (rdma_kernel)
// so the user path loads where this one cannot; selected when ib_core is there (ibCore.ts). Its records
// and maps are the user path's, decoded by the same code; series carry rdma.source = ib_core.
import { RDMA, RDMA_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import type { Rung } from '../../native';
import type { Family, FamilyContext, FamilyRuntime } from '../types';
import { connectionTable } from './connectionTable';
import { ibCoreUnavailable, kprobeTarget, readKallsyms } from './ibCore';
import { qpStateName, resourceName, ringBufferBytes } from './names';
import { ObjectTable, type LiveObject } from './objects';
import { QpTable, startQpEvents } from './qps';
import { kernelQpLiveness } from './qpLiveness';
import { RdmaDevices } from './devices';
import { seedFromNetlink, seedKey, type SeededObject } from './seed';
import { cgroupIdOfPid } from '../../host/cgroups';

export const SOURCE = 'ib_core';

/** fentry/fexit first (BTF name), kprobe fallback at the kallsyms name; probes with no kprobe-able
 * symbol (only .isra clones, whose arguments differ) keep the fentry rung only */
export function kernelLadders(kallsyms: string | undefined): Record<string, Rung[]> {
  const kp = (fn: string, program: string, kind: 'kprobe' | 'kretprobe'): Rung[] => {
    const target = kprobeTarget(fn, kallsyms);
    return target ? [{ program, kind, target }] : [];
  };
  // in attach order: deletes before adds, or an object made and destroyed in between would stay counted
  const ladders: Record<string, Rung[]> = {
    rdma_restrack_del: [
      { program: 'restrack_del_fentry', kind: 'fentry', target: 'rdma_restrack_del' },
      ...kp('rdma_restrack_del', 'restrack_del_kprobe', 'kprobe'),
    ],
    // the two-phase delete of PDs, CQs, QPs and SRQs, where the kernel has it (bpf/rdma_kernel.bpf.c)
    ...(kprobeTarget('rdma_restrack_commit_del', kallsyms)
      ? {
          rdma_restrack_commit_del: [
            { program: 'restrack_commit_del_fentry', kind: 'fentry', target: 'rdma_restrack_commit_del' },
            ...kp('rdma_restrack_commit_del', 'restrack_commit_del_kprobe', 'kprobe'),
          ],
        }
      : {}),
    rdma_restrack_add: [
      { program: 'restrack_add_fexit', kind: 'fexit', target: 'rdma_restrack_add' },
      ...kp('rdma_restrack_add', 'restrack_add_kprobe', 'kprobe'),
    ],
    _ib_modify_qp: [
      { program: 'modify_qp_fexit', kind: 'fexit', target: '_ib_modify_qp' },
      ...kp('_ib_modify_qp', 'modify_qp_kret', 'kretprobe'),
    ],
  };
  const entry = kp('_ib_modify_qp', 'modify_qp_kentry', 'kprobe');
  if (entry.length) ladders['_ib_modify_qp:entry'] = entry;
  return ladders;
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

  /** takes deleted objects off, and those the kernel map tracks itself (added between attach and seed) */
  live(tracked: LiveObject[]): LiveObject[] {
    if (!this.settled) return [];
    if (this.ctx && this.gone) {
      const batch = this.ctx.object.readMap('rdma_gone');
      for (let i = 0; i < batch.count; i++) {
        const base = i * this.gone.size;
        this.remove(
          this.gone.str(batch.keys, base, 'device'),
          this.gone.u32(batch.keys, base, 'type'),
          this.gone.u32(batch.keys, base, 'id'),
        );
      }
      if (batch.count) this.ctx.object.deleteKeys('rdma_gone', batch.keys, batch.count);
    }
    if (this.seeds.size) for (const t of tracked) this.remove(t.device, t.type, t.handle ?? -1);
    return [...this.seeds.values()];
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

export const rdmaKernelFamily: Family = {
  name: 'rdma_kernel',
  makesSpan: (name, attributes) => name === RDMA.span && attributes[RDMA_ATTR.source] === SOURCE,
  enabled: (config) => config.families.rdma.enabled && config.families.rdma.kernel,
  unavailable: () => ibCoreUnavailable(),
  modules: ['ib_core'],
  openOptions: (config) => {
    const rdma = config.families.rdma;
    return {
      maxEntries: {
        rdma_objects: rdma.maxObjects,
        rdma_gone: rdma.maxObjects,
        rdma_qp_transitions: rdma.maxCgroupKeys,
        rdma_untracked: rdma.maxCgroupKeys,
        rdma_events: ringBufferBytes(rdma.ringBufferBytes),
      },
      rodata: { targ_qp_events: true },
      ladders: kernelLadders(readKallsyms()),
    };
  },
  maps: {
    rdma_objects: { key: 'rdma_object_key', value: 'rdma_object' },
    rdma_gone: { key: 'rdma_gone_key', value: 8 },
  },
  dropsMap: 'rdma_drops',
  kernelMetrics: [
    {
      type: 'counter',
      map: 'rdma_qp_transitions',
      metric: RDMA.transitions,
      kindAttributes: (kind) => ({ [RDMA_ATTR.qpState]: qpStateName(kind), [RDMA_ATTR.source]: SOURCE }),
    },
    {
      type: 'counter',
      map: 'rdma_untracked',
      metric: RDMA.untracked,
      kindAttributes: (kind) => ({ [RDMA_ATTR.resourceType]: resourceName(kind), [RDMA_ATTR.source]: SOURCE }),
    },
  ],
  start(ctx): FamilyRuntime {
    const rdma = ctx.config.families.rdma;
    const devices = new RdmaDevices(rdma.sysfsRoot, () => ctx.drops.add('rdma_kernel', 'invalid_value'));
    const qps = new QpTable(
      ctx.tracer,
      ctx.cgroups,
      devices,
      rdma.qpSpans,
      SOURCE,
      (reason) => ctx.drops.add('rdma_kernel', reason),
      rdma.maxObjects,
    );
    const closers: FamilyRuntime[] = [startQpEvents(ctx, qps, 'rdma_kernel', { [RDMA_ATTR.source]: SOURCE })];
    const seeds = new Seeds(ctx, rdma.seedFromNetlink ? undefined : []);
    if (rdma.seedFromNetlink) {
      const abort = new AbortController();
      closers.push({ close: () => abort.abort() });
      // kernel users (ib_core's GSI QP, NVMe-oF, ...) have no pid: cgroup 0, the kernel's, as in the BPF path
      void seedFromNetlink((pid) => (pid === undefined ? 0 : (cgroupIdOfPid(pid, ctx.cgroups.mount) ?? 0)), undefined, abort.signal).then(
        (seeded) => {
          if (abort.signal.aborted) return;
          if (seeded.ok) {
            seeds.settle(seeded.objects);
            ctx.logger.info(`rdma_kernel: ${seeded.objects.length} RDMA objects older than kotel counted from RDMA netlink`);
          } else {
            seeds.settle([]);
            ctx.logger.warn(
              `rdma_kernel: objects older than kotel are unknown (${seeded.reason}); their deletes go to rdma.resource.untracked`,
            );
          }
        },
      );
    }
    // kernel objects are deleted by the kernel, also when their process exits: no liveness sweep
    const objects = new ObjectTable(ctx, devices, {
      source: SOURCE,
      extra: (tracked) => seeds.live(tracked),
      onCollected: (tracked) => qps.reconcile(kernelQpLiveness(tracked, seeds)),
    });
    closers.push(objects.observe());
    const removeSection = ctx.console?.addSection(() =>
      connectionTable(qps.connections(), ctx.cgroups).map((l, i) =>
        i === 0 ? l.replace('RDMA connections', 'RDMA connections (ib_core)') : l,
      ),
    );
    if (removeSection) closers.push({ close: removeSection });
    return { close: () => closers.forEach((c) => c.close()) };
  },
};
