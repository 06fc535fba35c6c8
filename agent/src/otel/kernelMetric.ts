// How a family's per-cgroup kernel map becomes an OpenTelemetry metric (KernelMetricProducer reads them).
import type { Attributes } from '@opentelemetry/api';
import type { ClassicRange } from './histogram';
import type { MetricName } from './semconv';

export interface KernelMetricBase {
  /** per-CPU hash keyed by struct kotel_cg_key */
  map: string;
  metric: MetricName;
  /** attributes for the key's `kind` (besides the cgroup's); undefined leaves the point without any */
  kindAttributes?: (kind: number) => Attributes;
  /** false: the key's cgroup_id is always 0 (interrupts belong to no task), the points have no cgroup attributes */
  perCgroup?: false;
}

/** u64 values: a monotonic OTel sum */
export interface KernelCounter extends KernelMetricBase {
  type: 'counter';
}

/** struct kotel_hist values: an OTel histogram in seconds (exponential, or the classic buckets of `classic`) */
export interface KernelHistogram extends KernelMetricBase {
  type: 'histogram';
  classic: ClassicRange;
}

export type KernelMetric = KernelCounter | KernelHistogram;
