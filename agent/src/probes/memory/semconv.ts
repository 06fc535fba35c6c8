// What the memory family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const MEMORY_ATTR = {
  faultMode: 'memory.fault.mode',
  faultAccess: 'memory.fault.access',
} as const;

export const MEMORY = {
  pageFaults: {
    name: 'memory.page_faults',
    unit: '{fault}',
    description:
      'Page fault exceptions taken (x86 exceptions tracepoints: also those that end in SIGSEGV or were spurious; faults the kernel resolves through get_user_pages take none), by the cgroup of the task, memory.fault.mode (user: in user code; kernel: in the kernel, copying to or from user memory) and memory.fault.access (read, write, exec)',
  },
} satisfies Record<string, MetricName>;
