// Interrupt map kinds to attributes: the softirq vector's name, the IRQ number's handler names, the CPU.
import type { Attributes } from '@opentelemetry/api';
import * as fs from 'node:fs';
import { ATTR } from '../../otel/semconv';
import { INTERRUPTS_ATTR } from './semconv';

/** the kernel's softirq_to_name (kernel/softirq.c), lower case as in /proc/softirqs */
export const SOFTIRQ_NAMES = ['hi', 'timer', 'net_tx', 'net_rx', 'block', 'irq_poll', 'tasklet', 'sched', 'hrtimer', 'rcu'];

/** bpf/interrupts.h IRQ_KIND_CPU_SHIFT: kind = vector, | (cpu + 1) << 16 with perCpu */
const CPU_SHIFT = 16;

export function splitKind(kind: number): { vector: number; cpu?: number } {
  const cpuPlusOne = kind >>> CPU_SHIFT;
  const vector = kind & ((1 << CPU_SHIFT) - 1);
  return cpuPlusOne ? { vector, cpu: cpuPlusOne - 1 } : { vector };
}

function cpuAttribute(cpu: number | undefined): Attributes {
  return cpu === undefined ? {} : { [ATTR.cpuId]: cpu };
}

export function softirqAttributes(kind: number): Attributes {
  const { vector, cpu } = splitKind(kind);
  return { [INTERRUPTS_ATTR.softirqType]: SOFTIRQ_NAMES[vector] ?? `vector_${vector}`, ...cpuAttribute(cpu) };
}

/** the names of an IRQ's handlers, from /sys/kernel/irq/<n>/actions (comma-separated, as /proc/interrupts
 * shows them); undefined when the IRQ has none now (freed since) or sysfs lacks the file */
export function irqHandlerName(irq: number, sysKernelIrq = '/sys/kernel/irq'): string | undefined {
  try {
    return fs.readFileSync(`${sysKernelIrq}/${irq}/actions`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** kind → attributes of irq.handler.duration; the handler names are read once per IRQ number */
export function irqAttributesOf(handlerName: (irq: number) => string | undefined = irqHandlerName) {
  const names = new Map<number, string | undefined>();
  return (kind: number): Attributes => {
    const { vector, cpu } = splitKind(kind);
    if (!names.has(vector)) names.set(vector, handlerName(vector));
    const handler = names.get(vector);
    return { [INTERRUPTS_ATTR.irqNumber]: vector, ...(handler ? { [INTERRUPTS_ATTR.irqHandler]: handler } : {}), ...cpuAttribute(cpu) };
  };
}
