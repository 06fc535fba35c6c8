// kotel's own health as metrics: which probes attached, what was dropped where, what the BPF programs
// cost in the kernel (while run-time stats are on), and how exports go.
import type { Meter } from '@opentelemetry/api';
import type { LoadResult } from '../probes/load';
import { ATTR, SELF } from '../otel/semconv';
import { kernelDrops, type UserDrops } from '../kernel/drops';
import { kernelAtLeast } from '../host/kernelRelease';
import type { Maintenance } from '../probes/maintenance';

export function registerSelfMetrics(
  meter: Meter,
  load: LoadResult,
  drops: UserDrops,
  maintenance?: Pick<Maintenance, 'failures'>,
  sampledOut?: ReadonlyMap<string, number>,
) {
  if (sampledOut)
    meter
      .createObservableCounter(SELF.spansSampledOut.name, {
        unit: SELF.spansSampledOut.unit,
        description: SELF.spansSampledOut.description,
      })
      .addCallback((result) => {
        for (const [family, n] of sampledOut) result.observe(n, { [ATTR.family]: family });
      });

  meter
    .createObservableGauge(SELF.probeAttached.name, { unit: SELF.probeAttached.unit, description: SELF.probeAttached.description })
    .addCallback((result) => {
      for (const { family, attachments } of load.loaded) {
        for (const a of attachments) {
          const attrs: Record<string, string> = { [ATTR.family]: family.name, [ATTR.probe]: a.probe };
          if (a.attached) {
            attrs[ATTR.hook] = a.kind ?? '';
            attrs[ATTR.program] = a.program ?? '';
          } else if (a.failures.length > 0) {
            attrs[ATTR.errorType] = a.failures[a.failures.length - 1].code;
          }
          result.observe(a.attached ? 1 : 0, attrs);
        }
      }
      for (const { family, code } of load.failed)
        result.observe(0, { [ATTR.family]: family.name, [ATTR.probe]: '*', [ATTR.errorType]: code });
    });

  meter
    .createObservableCounter(SELF.eventsDropped.name, { unit: SELF.eventsDropped.unit, description: SELF.eventsDropped.description })
    .addCallback((result) => {
      for (const { family, object } of load.loaded)
        for (const { reason, n } of kernelDrops(object, family.dropsMap))
          result.observe(n, { [ATTR.family]: family.name, [ATTR.dropReason]: reason });
      // a BPF program is skipped when another BPF program is already running on that CPU: events lost too
      for (const { family, object } of load.loaded) {
        const stats = object.progStats();
        const misses = stats.reduce((n, s) => n + Number(s.recursionMisses), 0);
        result.observe(misses, { [ATTR.family]: family.name, [ATTR.dropReason]: 'bpf_recursion' });
        const kprobes = stats.filter((s) => s.kprobeMisses !== undefined);
        if (kprobes.length > 0 && kernelAtLeast(6, 7))
          // 6.6 has the link info without the count
          result.observe(
            kprobes.reduce((n, s) => n + Number(s.kprobeMisses), 0),
            { [ATTR.family]: family.name, [ATTR.dropReason]: 'kprobe_missed' },
          );
      }
      for (const d of drops.entries()) result.observe(d.n, { [ATTR.family]: d.family, [ATTR.dropReason]: d.reason });
    });

  const runDuration = meter.createObservableCounter(SELF.bpfRunDuration.name, {
    unit: SELF.bpfRunDuration.unit,
    description: SELF.bpfRunDuration.description,
  });
  const runCount = meter.createObservableCounter(SELF.bpfRunCount.name, {
    unit: SELF.bpfRunCount.unit,
    description: SELF.bpfRunCount.description,
  });
  meter.addBatchObservableCallback(
    (result) => {
      for (const { family, object } of load.loaded) {
        for (const s of object.progStats()) {
          if (s.runCount === 0n) continue; // stats off, or never ran
          const attrs = { [ATTR.family]: family.name, [ATTR.program]: s.program };
          result.observe(runDuration, Number(s.runTimeNs) / 1e9, attrs);
          result.observe(runCount, Number(s.runCount), attrs);
        }
      }
    },
    [runDuration, runCount],
  );

  meter
    .createObservableCounter(SELF.maintenanceFailures.name, {
      unit: SELF.maintenanceFailures.unit,
      description: SELF.maintenanceFailures.description,
    })
    .addCallback((result) => {
      for (const [task, n] of maintenance?.failures() ?? []) result.observe(n, { [ATTR.task]: task });
    });

  const exports = meter.createCounter(SELF.exports.name, { unit: SELF.exports.unit, description: SELF.exports.description });
  return {
    exportResult(signal: 'metrics' | 'traces', ok: boolean, items: number): void {
      exports.add(1, { [ATTR.signal]: signal, outcome: ok ? 'success' : 'failure' });
      if (!ok && signal === 'traces') drops.add('otlp', 'export_failed', items);
    },
  };
}
