/** A tiny MetricProducer standing in for the kernel-map producer: one sum and one explicit-bucket histogram. */
import { ValueType } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';

export const STUB_BOUNDS = [0.001, 0.01, 0.1];
/** 10 in (0, 1ms], 20 in (1ms, 10ms], 60 in (10ms, 100ms], 10 above */
export const STUB_COUNTS = [10, 20, 60, 10];

export class StubProducer implements MetricProducer {
  collections = 0;
  /** value of the sum; tests may change it between collections */
  retransmits = 42;
  constructor(readonly temporality: AggregationTemporality) {}

  async collect(): Promise<CollectionResult> {
    this.collections++;
    const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
    const start: [number, number] = [now[0] - 60, 0];
    const attributes = { 'cgroup.path': '/system.slice/demo.service', 'cgroup.id': 1234 };
    return {
      errors: [],
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [
          {
            scope: { name: 'kotel.kernel.stub' },
            metrics: [
              {
                descriptor: {
                  name: 'tcp.retransmits',
                  description: 'TCP segments retransmitted',
                  unit: '{segment}',
                  valueType: ValueType.INT,
                },
                aggregationTemporality: this.temporality,
                dataPointType: DataPointType.SUM,
                isMonotonic: true,
                dataPoints: [{ startTime: start, endTime: now, attributes, value: this.retransmits }],
              },
              {
                descriptor: { name: 'tcp.rtt', description: 'TCP smoothed round-trip time', unit: 's', valueType: ValueType.DOUBLE },
                aggregationTemporality: this.temporality,
                dataPointType: DataPointType.HISTOGRAM,
                dataPoints: [
                  {
                    startTime: start,
                    endTime: now,
                    attributes,
                    value: {
                      buckets: { boundaries: STUB_BOUNDS, counts: STUB_COUNTS },
                      count: 100,
                      sum: 5.5,
                      min: 0.0002,
                      max: 0.4,
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    };
  }
}

export function stubFactory(): { producerFor: (t: AggregationTemporality) => StubProducer; built: StubProducer[] } {
  const built: StubProducer[] = [];
  return {
    built,
    producerFor: (t) => {
      const p = new StubProducer(t);
      built.push(p);
      return p;
    },
  };
}

export { AggregationTemporality };
