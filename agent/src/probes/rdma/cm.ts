// RDMA connection-manager family (bpf/rdma_cm.bpf.c, ABI in bpf/rdma_cm.h): the rdma_cma tracepoints of
// the rdma_cm module as rdma.cm.events per cgroup. Apart from rdma_kernel because rdma_cm is a module of
// its own, often loaded after ib_core (by rdma_ucm, for the first librdmacm user): kotel loads this family
// when it appears.
import { RDMA } from './semconv';
import { tracepointLadder } from '../ladder';
import type { Family } from '../types';
import { rdmaCmUnavailable } from './ibCore';
import { cmEventAttributes } from './names';

const CM_EVENTS = ['send_req', 'send_rep', 'send_rtu', 'send_rej', 'disconnect', 'qp_create', 'qp_destroy', 'id_destroy'];

export const rdmaCmFamily: Family = {
  name: 'rdma_cm',
  enabled: (config) => config.families.rdma.enabled && config.families.rdma.kernel,
  unavailable: () => rdmaCmUnavailable(),
  modules: ['rdma_cm'],
  openOptions: (config) => ({
    maxEntries: { rdma_cm_events: config.families.rdma.maxCgroupKeys },
    ladders: Object.fromEntries(CM_EVENTS.map((e) => [`rdma_cma/cm_${e}`, tracepointLadder(`cm_${e}`)])),
  }),
  maps: {},
  dropsMap: 'rdma_cm_drops',
  kernelMetrics: [{ type: 'counter', map: 'rdma_cm_events', metric: RDMA.cmEvents, kindAttributes: cmEventAttributes }],
};
