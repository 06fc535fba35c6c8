// What the memory family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const MEMORY_ATTR = {
  faultMode: 'memory.fault.mode',
  faultAccess: 'memory.fault.access',
  /** OpenTelemetry's system.paging.faults attribute */
  faultType: 'system.paging.fault.type',
  reclaimKind: 'memory.reclaim.kind',
  compactionKind: 'memory.compaction.kind',
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
  reclaimDuration: {
    name: 'memory.reclaim.duration',
    unit: 's',
    description:
      'Reclaim stalls: the time a task spent reclaiming memory before its allocation could go on, by the cgroup of the task and memory.reclaim.kind (direct: the system was short of memory; memcg: the cgroup reached memory.max or memory.high)',
  },
  reclaimPages: {
    name: 'memory.reclaim.pages',
    unit: '{page}',
    description:
      "Pages freed by the reclaims of memory.reclaim.duration (memory.stat's pgsteal_direct, with slab pages for direct reclaim), by the cgroup of the task and memory.reclaim.kind",
  },
  compactionDuration: {
    name: 'memory.compaction.duration',
    unit: 's',
    description:
      'Compaction passes over a memory zone (mm_compaction_begin -> mm_compaction_end), by the cgroup of the task and memory.compaction.kind (direct: an allocation of contiguous pages waited for it, a stall; background: kcompactd or proactive compaction; requested: a write to /proc/sys/vm/compact_memory)',
  },
  oomKills: {
    name: 'memory.oom.kills',
    unit: '{kill}',
    description: "Tasks the OOM killer chose to kill (oom:mark_victim), by the cgroup of the victim (memory.events' oom_kill)",
  },
} satisfies Record<string, MetricName>;
