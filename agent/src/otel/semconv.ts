// Names, units and attribute keys every family shares and kotel's own metrics; each family's own are in its
// folder (probes/<family>/semconv.ts). Units go in the unit field (UCUM), never in the name; no `_total`
// suffix (the Prometheus exporter adds its own).

export const ATTR = {
  errorType: 'error.type',
  probe: 'kotel.probe',
  program: 'kotel.program',
  hook: 'kotel.hook',
  family: 'kotel.family',
  dropReason: 'kotel.drop.reason',
  signal: 'kotel.signal',
  task: 'kotel.task',
  /** the CPU of a per-CPU series (families.sched.perCpu, families.interrupts.perCpu) */
  cpuId: 'cpu.id',
} as const;

export interface MetricName {
  name: string;
  unit: string;
  description: string;
}

export const SELF = {
  probeAttached: {
    name: 'kotel.probe.attached',
    unit: '{probe}',
    description: '1 when the probe attached (kotel.hook says how), 0 when it could not',
  },
  eventsDropped: {
    name: 'kotel.events.dropped',
    unit: '{event}',
    description:
      'Events lost before export, by family and reason (ringbuf_full, map_full, task_storage, nested, no_memory, bpf_recursion, kprobe_missed, decode, export_failed, span_queue_full, invalid_value, destroy_unseen)',
  },
  bpfRunDuration: {
    name: 'kotel.bpf.run.time',
    unit: 's',
    description: 'Cumulative kernel time spent in each BPF program (only while BPF run-time stats are on)',
  },
  bpfRunCount: {
    name: 'kotel.bpf.runs',
    unit: '{run}',
    description: 'Times each BPF program ran (only while BPF run-time stats are on)',
  },
  maintenanceFailures: {
    name: 'kotel.maintenance.failures',
    unit: '{failure}',
    description: 'Runs of a map maintenance task (cgroup sweep, eviction, liveness sweep) that threw, by task',
  },
  spansSampledOut: {
    name: 'kotel.spans.sampled_out',
    unit: '{span}',
    description: "Spans left out by a family's families.<family>.spanSampling (exported spans + these = every span)",
  },
  exports: { name: 'kotel.export.results', unit: '{export}', description: 'OTLP export attempts by signal and outcome' },
} satisfies Record<string, MetricName>;
