// Every metric and span kotel exports: names, units and attribute keys in one place. Units go in the unit
// field (UCUM), never in the name; no `_total` suffix (the Prometheus exporter adds its own).

export const ATTR = {
  cgroupId: 'cgroup.id',
  cgroupPath: 'cgroup.path',
  containerId: 'container.id',
  errorType: 'error.type',
  tcpState: 'tcp.state',
  tcpDirection: 'tcp.direction',
  tcpEvent: 'tcp.event',
  rdmaVerb: 'rdma.verb',
  rdmaResourceType: 'rdma.resource.type',
  rdmaDevice: 'rdma.device',
  rdmaQpState: 'rdma.qp.state',
  rdmaSource: 'rdma.source',
  rdmaCmEvent: 'rdma.cm.event',
  lockKind: 'lock.kind',
  lockSymbol: 'lock.symbol',
  lockAddress: 'lock.address',
  futexOp: 'futex.op',
  contextSwitchType: 'context_switch.type',
  cpuId: 'cpu.id',
  probe: 'kotel.probe',
  program: 'kotel.program',
  hook: 'kotel.hook',
  family: 'kotel.family',
  dropReason: 'kotel.drop.reason',
  signal: 'kotel.signal',
} as const;

export interface MetricName {
  name: string;
  unit: string;
  description: string;
}

export const TCP = {
  rtt: {
    name: 'tcp.rtt',
    unit: 's',
    description: 'Smoothed round-trip time of TCP sockets, sampled on every tcp_probe event (ACK processing)',
  },
  connectDuration: {
    name: 'tcp.connect.duration',
    unit: 's',
    description: 'Time from SYN_SENT to ESTABLISHED (or to CLOSE for failed connects; error.type says why)',
  },
  retransmits: {
    name: 'tcp.retransmits',
    unit: '{segment}',
    description: 'Retransmitted TCP segments, by the socket state at the retransmit (SYN_SENT: SYN retransmits)',
  },
  lifecycle: {
    name: 'tcp.connection.events',
    unit: '{event}',
    description: 'TCP connection lifecycle events: open_active (connect), open_passive (accept), connect_failed, close',
  },
  connections: {
    name: 'tcp.connection.count',
    unit: '{connection}',
    description: 'Live TCP sockets by state, among those seen changing state since the agent started',
  },
  span: 'tcp.connection',
} satisfies Record<string, MetricName | string>;

export const RDMA = {
  resources: {
    name: 'rdma.resource.count',
    unit: '{resource}',
    description:
      'Live RDMA verbs objects (qp, pd, cq, mr, context) created since kotel attached and not yet destroyed, by device and creating cgroup',
  },
  untracked: {
    name: 'rdma.resource.untracked',
    unit: '{resource}',
    description:
      'Destroys of RDMA objects created before kotel attached (unknown to rdma.resource.count, which never goes below zero for them)',
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
    name: 'rdma.connection.count',
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

export const LOCKS = {
  contentionDuration: {
    name: 'lock.contention.duration',
    unit: 's',
    description:
      'Kernel lock contention: wait from the first contention_begin to contention_end of a task, by lock kind (the count is the number of contentions)',
  },
  futexWaitDuration: {
    name: 'futex.wait.duration',
    unit: 's',
    description:
      'User-space lock waits: time in futex syscalls that can wait (FUTEX_WAIT, _BITSET, _REQUEUE_PI, LOCK_PI, LOCK_PI2, futex_waitv, futex_wait), by op; error.type when the wait failed (EAGAIN, ETIMEDOUT, EINTR)',
  },
  topWait: {
    name: 'lock.contention.top',
    unit: 's',
    description:
      'Total contention wait on each of the most contended kernel locks (the families.locks.topLocks with the most wait since the address was first tracked), by symbol',
  },
  topCount: {
    name: 'lock.contention.top.count',
    unit: '{contention}',
    description: 'Contentions on each of the most contended kernel locks (the same locks as lock.contention.top)',
  },
  span: 'lock.wait',
} satisfies Record<string, MetricName | string>;

export const SCHED = {
  runqueueDelay: {
    name: 'sched.runqueue.delay',
    unit: 's',
    description:
      'Run-queue delay: time a task waited runnable for a CPU, from its wakeup (or preemption) to running, by its cgroup (and cpu.id with families.sched.perCpu)',
  },
  offCpuDuration: {
    name: 'sched.offcpu.duration',
    unit: 's',
    description: 'Off-CPU time: from a task blocking (voluntary context switch) to running again, by its cgroup (families.sched.offCpu)',
  },
  contextSwitches: {
    name: 'sched.context_switches',
    unit: '{context_switch}',
    description:
      'Context switches by the cgroup of the task leaving the CPU: voluntary (it blocked) or involuntary (preempted or yielded, still runnable)',
  },
  migrations: {
    name: 'sched.migrations',
    unit: '{migration}',
    description: 'Task migrations between CPUs (sched_migrate_task), by the cgroup of the task',
  },
} satisfies Record<string, MetricName>;

export const SELF = {
  probeAttached: {
    name: 'kotel.probe.attached',
    unit: '1',
    description: '1 when the probe attached (kotel.hook says how), 0 when it could not',
  },
  eventsDropped: {
    name: 'kotel.events.dropped',
    unit: '{event}',
    description:
      'Events lost before export, by family and reason (ringbuf_full, map_full, task_storage, nested, bpf_recursion, kprobe_missed, decode, export_failed, span_queue_full, invalid_value, destroy_unseen)',
  },
  bpfRunDuration: {
    name: 'kotel.bpf.run.duration',
    unit: 's',
    description: 'Cumulative kernel time spent in each BPF program (only while BPF run-time stats are on)',
  },
  bpfRunCount: {
    name: 'kotel.bpf.run.count',
    unit: '{run}',
    description: 'Times each BPF program ran (only while BPF run-time stats are on)',
  },
  exports: { name: 'kotel.export.results', unit: '{export}', description: 'OTLP export attempts by signal and outcome' },
} satisfies Record<string, MetricName>;

/** the family that makes each span, for kotel.events.dropped (rdma.qp spans of the kernel path: rdma_kernel) */
export function spanFamily(name: string, attributes: Record<string, unknown>): string {
  if (name === TCP.span) return 'tcp';
  if (name === LOCKS.span) return 'locks';
  if (name === RDMA.span) return attributes[ATTR.rdmaSource] === 'ib_core' ? 'rdma_kernel' : 'rdma';
  return 'otlp';
}
