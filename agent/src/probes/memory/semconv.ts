// What the memory family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const MEMORY_ATTR = {
  faultMode: 'memory.fault.mode',
  faultAccess: 'memory.fault.access',
  /** OpenTelemetry's system.paging.faults attribute */
  faultType: 'system.paging.fault.type',
} as const;

export const MEMORY = {
  pageFaults: {
    name: 'memory.page_faults',
    unit: '{fault}',
    description:
      'Page fault exceptions taken (x86 exceptions tracepoints: also those that end in SIGSEGV or were spurious; faults the kernel resolves through get_user_pages take none), by the cgroup of the task, memory.fault.mode (user: in user code; kernel: in the kernel, copying to or from user memory) and memory.fault.access (read, write, exec)',
  },
  pagingFaults: {
    name: 'memory.paging.faults',
    unit: '{fault}',
    description:
      'Page faults as the kernel accounts them (getrusage, memory.stat): each completed fault once, failed ones not, those through get_user_pages too, by the cgroup of the task and system.paging.fault.type (major: the page was read in, or the fault waited for it; minor); families.memory.faultTypes (fexit on handle_mm_fault)',
  },
} satisfies Record<string, MetricName>;
