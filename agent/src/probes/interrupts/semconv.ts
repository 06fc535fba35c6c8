// What the interrupts family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const INTERRUPTS_ATTR = {
  irqNumber: 'irq.number',
  irqHandler: 'irq.handler',
  softirqType: 'softirq.type',
} as const;

export const INTERRUPTS = {
  irqDuration: {
    name: 'irq.handler.duration',
    unit: 's',
    description:
      'Time in hard IRQ handlers (irq_handler_entry -> irq_handler_exit), by IRQ number and handler (as /proc/interrupts names them; a shared line has one per handler), and cpu.id with families.interrupts.perCpu; the count is the handler calls',
  },
  softirqDuration: {
    name: 'softirq.duration',
    unit: 's',
    description:
      'Time in softirq handlers (softirq_entry -> softirq_exit), by softirq.type (net_rx, timer, rcu, ... as /proc/softirqs names them), and cpu.id with families.interrupts.perCpu; the count is the handler runs',
  },
} satisfies Record<string, MetricName>;
