// BPF timestamps come from bpf_ktime_get_ns() (CLOCK_MONOTONIC); process.hrtime.bigint() reads the same
// clock, so wall = mono + (now_wall - now_mono). Take the offset once per ring-buffer batch: Date.now() is
// only ms-precise, and one offset keeps the order and the exact durations of the records in a batch.
import type { HrTime } from '@opentelemetry/api';

/** wall-clock ns minus CLOCK_MONOTONIC ns, now */
export function monotonicOffsetNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

export function epochNsToHrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** a CLOCK_MONOTONIC timestamp as wall-clock HrTime, with an offset from monotonicOffsetNs() */
export function monotonicToHrTime(monoNs: bigint, offsetNs: bigint): HrTime {
  return epochNsToHrTime(monoNs + offsetNs);
}
