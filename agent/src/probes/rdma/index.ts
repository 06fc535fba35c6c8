// RDMA family, user-space verbs path: uprobes on libibverbs (bpf/rdma.bpf.c, ABI in bpf/rdma.h). Verb
// calls, QP transitions and destroys of objects older than the agent are counted in the kernel; live
// objects are counted from the rdma_objects map at collection time; QP lifecycle records feed the QP table
// (spans, connection count and table).
import { RDMA, RDMA_ATTR } from './semconv';
import type { FamilyFolder, Family, FamilyRuntime } from '../types';
import { connectionTable } from './connectionTable';
import { findLibrary, resolveVerbs, uprobeLadders } from './library';
import { startLibraryScan } from './libraryScan';
import { qpStateName, resourceName, ringBufferBytes, verbCallAttributes } from './names';
import { ObjectTable } from './objects';
import { QpTable, startQpEvents } from './qps';
import { userQpLiveness } from './qpLiveness';
import { RdmaDevices } from './devices';
import { SOURCE as KERNEL_SOURCE, rdmaKernelFamily } from './kernel';
import { rdmaConfig } from './config';
import { rdmaCmFamily } from './cm';

export const rdmaFamily: Family = {
  name: 'rdma',
  makesSpan: (name, attributes) => name === RDMA.span && attributes[RDMA_ATTR.source] !== KERNEL_SOURCE,
  enabled: (config) => config.families.rdma.enabled,
  openOptions: (config) => {
    const rdma = config.families.rdma;
    const library = findLibrary(rdma.library);
    return {
      maxEntries: {
        rdma_objects: rdma.maxObjects,
        rdma_verb_calls: rdma.maxCgroupKeys,
        rdma_qp_transitions: rdma.maxCgroupKeys,
        rdma_untracked: rdma.maxCgroupKeys,
        rdma_events: ringBufferBytes(rdma.ringBufferBytes),
      },
      ladders: uprobeLadders(library, resolveVerbs(library)),
    };
  },
  maps: {
    rdma_objects: { key: 'rdma_object_key', value: 'rdma_object' },
  },
  dropsMap: 'rdma_drops',
  kernelMetrics: [
    { type: 'counter', map: 'rdma_verb_calls', metric: RDMA.verbCalls, kindAttributes: verbCallAttributes },
    {
      type: 'counter',
      map: 'rdma_qp_transitions',
      metric: RDMA.transitions,
      kindAttributes: (kind) => ({ [RDMA_ATTR.qpState]: qpStateName(kind), [RDMA_ATTR.source]: 'libibverbs' }),
    },
    {
      type: 'counter',
      map: 'rdma_untracked',
      metric: RDMA.untracked,
      kindAttributes: (kind) => ({ [RDMA_ATTR.resourceType]: resourceName(kind), [RDMA_ATTR.source]: 'libibverbs' }),
    },
  ],
  start(ctx) {
    const rdma = ctx.config.families.rdma;
    const devices = new RdmaDevices(rdma.sysfsRoot, () => ctx.drops.add('rdma', 'invalid_value'));
    const qps = new QpTable(
      ctx.tracer,
      ctx.cgroups,
      devices,
      rdma.qpSpans,
      'libibverbs',
      (reason) => ctx.drops.add('rdma', reason),
      rdma.maxObjects,
    );
    const closers: FamilyRuntime[] = [startQpEvents(ctx, qps, 'rdma', { [RDMA_ATTR.source]: 'libibverbs' })];
    const objects = new ObjectTable(ctx, devices, {
      onProcessGone: (tgid) => qps.processGone(tgid),
      onMaintenance: (tracked) => qps.reconcile(userQpLiveness(tracked)),
    });
    closers.push(objects.observe());
    const removeSection = ctx.console?.addSection(() => connectionTable(qps.connections(), ctx.cgroups));
    if (removeSection) closers.push({ close: removeSection });
    if (rdma.libraryScanInterval > 0) closers.push(startLibraryScan(ctx, findLibrary(rdma.library), rdma.libraryScanInterval));
    return { close: () => closers.forEach((c) => c.close()) };
  },
};

/** the rdma folder for the registry */
export const folder = { config: rdmaConfig, families: [rdmaFamily, rdmaKernelFamily, rdmaCmFamily] } satisfies FamilyFolder;
