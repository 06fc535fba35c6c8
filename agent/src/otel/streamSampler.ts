// Per-stream span sampling: each family's spans (tcp.connection, lock.wait, rdma.qp) are kept at its own
// ratio (families.<family>.spanSampling), by trace id as the SDK's TraceIdRatioBasedSampler does, and every
// span left out is counted by family (kotel.spans.sampled_out), so exported + sampled out = every span.
import type { Attributes, Context, SpanKind } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

export interface SpanStream {
  /** the family counted for the span */
  family: string;
  /** share kept, 0..1 */
  ratio: number;
}

export class StreamSampler implements Sampler {
  private readonly byRatio = new Map<number, TraceIdRatioBasedSampler>();
  /** spans left out, by family */
  readonly sampledOut = new Map<string, number>();

  constructor(private readonly streamOf: (spanName: string, attributes: Attributes) => SpanStream) {}

  shouldSample(context: Context, traceId: string, spanName: string, _kind: SpanKind, attributes: Attributes): SamplingResult {
    const { family, ratio } = this.streamOf(spanName, attributes);
    if (ratio >= 1) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    let sampler = this.byRatio.get(ratio);
    if (!sampler) this.byRatio.set(ratio, (sampler = new TraceIdRatioBasedSampler(ratio)));
    const result = sampler.shouldSample(context, traceId);
    if (result.decision === SamplingDecision.NOT_RECORD) this.sampledOut.set(family, (this.sampledOut.get(family) ?? 0) + 1);
    return result;
  }

  toString(): string {
    return 'StreamSampler';
  }
}
