// families.interrupts.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const interruptsConfig = fragment({
  enabled: {
    doc: 'Attach the interrupt probes: time in hard IRQ handlers by IRQ and in softirq handlers by type (irq tracepoints).',
    format: 'bool',
    default: true,
  },
  perCpu: {
    doc: 'Split irq.handler.duration and softirq.duration by cpu.id too: series and map entries multiply by the CPUs that take interrupts (a histogram series takes 136 B per possible CPU for each octave its values span at metrics.histogramScale 4), so raise maxKeys to vectors x CPUs.',
    format: 'bool',
    default: false,
  },
  maxKeys: {
    doc: 'Distinct IRQ numbers (softirq types), times CPUs with perCpu, the interrupt metrics are kept for (size of each of the two maps).',
    format: 'int',
    min: 1,
    default: 4096,
  },
});
