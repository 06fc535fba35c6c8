// kotel's own health as metrics: which probes attached, what was dropped where, what the BPF programs
// cost in the kernel (while run-time stats are on), and how exports go.
import type { Meter } from '@opentelemetry/api';
import type { LoadResult } from '../probes/load';
import { perCpuLayout, sumU64Fields } from '../probes/mapValues';
import { ATTR, SELF } from '../otel/semconv';
import type { UserDrops } from './UserDrops';
import { kernelAtLeast } from '../host/kernelRelease';

/** enum kotel_drop_reason (bpf/kotel.h), by index */
const KERNEL_DROP_REASONS = ['ringbuf_full', 'map_full', 'task_storage', 'nested'];
/** reasons exported for every family also while 0; the others once they happen */
const ALWAYS_REPORTED = 2;

export function registerSelfMetrics(meter: Meter, load: LoadResult, drops: UserDrops) {
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
      const out = new Float64Array(1);
      for (const { family, object } of load.loaded) {
        const info = object.mapInfo(family.dropsMap);
        const batch = object.readMap(family.dropsMap);
        const cpu = perCpuLayout(info, batch);
        for (let i = 0; i < batch.count; i++) {
          const index = batch.keys.readUInt32LE(i * info.keySize);
          const reason = KERNEL_DROP_REASONS[index];
          if (!reason) continue;
          sumU64Fields(batch, i, 0, 1, cpu, out);
          if (out[0] === 0 && index >= ALWAYS_REPORTED) continue; // a reason most families never have
          result.observe(out[0], { [ATTR.family]: family.name, [ATTR.dropReason]: reason });
        }
      }
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

  const exports = meter.createCounter(SELF.exports.name, { unit: SELF.exports.unit, description: SELF.exports.description });
  return {
    exportResult(signal: 'metrics' | 'traces', ok: boolean, items: number): void {
      exports.add(1, { [ATTR.signal]: signal, outcome: ok ? 'success' : 'failure' });
      if (!ok && signal === 'traces') drops.add('otlp', 'export_failed', items);
    },
  };
}
