// What the rdma family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const RDMA_ATTR = {
  verb: 'rdma.verb',
  resourceType: 'rdma.resource.type',
  device: 'rdma.device',
  qpState: 'rdma.qp.state',
  source: 'rdma.source',
  cmEvent: 'rdma.cm.event',
} as const;

export const RDMA = {
  resources: {
    name: 'rdma.resource.active',
    unit: '{resource}',
    description:
      'Live RDMA verbs objects (qp, pd, cq, mr, context) created since kotel attached and not yet destroyed, by device and creating cgroup',
  },
  untracked: {
    name: 'rdma.resource.untracked',
    unit: '{resource}',
    description:
      'Destroys of RDMA objects created before kotel attached (unknown to rdma.resource.active, which never goes below zero for them)',
  },
  verbCalls: {
    name: 'rdma.verb.calls',
    unit: '{call}',
    description:
      'RDMA verb calls through libibverbs, by verb; failed calls carry error.type (the errno, or _OTHER when the verb returned NULL)',
  },
  transitions: {
    name: 'rdma.qp.transitions',
    unit: '{transition}',
    description: 'Successful QP state changes (ibv_modify_qp with IBV_QP_STATE), by the new state',
  },
  connections: {
    name: 'rdma.connection.active',
    unit: '{connection}',
    description: 'Live RDMA connections: QPs that reached RTR with a destination QPN and GID and are not destroyed or reset',
  },
  cmEvents: {
    name: 'rdma.cm.events',
    unit: '{event}',
    description:
      'RDMA connection-manager events (rdma_cma tracepoints, kernel path): send_req, send_rep, send_rtu, send_rej, disconnect, qp_create (error.type when it failed), qp_destroy, id_destroy',
  },
  span: 'rdma.qp',
} satisfies Record<string, MetricName | string>;
