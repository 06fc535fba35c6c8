// RDMA family, kernel path (bpf/rdma_kernel.bpf.c, ABI in bpf/rdma_kernel.h): ib_core's restrack add/del
// (and commit_del) and _ib_modify_qp, for hosts with RDMA (the rdma_cma tracepoints: cm.ts). A family of its own (rdma_kernel)
// so the user path loads where this one cannot; selected when ib_core is there (ibCore.ts). Its records
// and maps are the user path's, decoded by the same code; series carry rdma.source = ib_core.
import { RDMA, RDMA_ATTR } from './semconv';
import type { Rung } from '../../native';
import type { Family, FamilyRuntime } from '../types';
import { connectionTable } from './connectionTable';
import { ibCoreUnavailable, kprobeTarget, readKallsyms } from './ibCore';
import { qpStateName, resourceName, ringBufferBytes } from './names';
import { ObjectTable } from './objects';
import { QpTable, startQpEvents } from './qps';
import { kernelQpLiveness } from './qpLiveness';
import { RdmaDevices } from './devices';
import { Seeds, seedFromNetlink } from './seed';
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
      extra: (tracked) => seeds.current(tracked),
      onMaintenance: (tracked) => {
        seeds.live(tracked);
        qps.reconcile(kernelQpLiveness(tracked, seeds));
      },
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
