// BPF timestamps come from bpf_ktime_get_ns() (CLOCK_MONOTONIC); process.hrtime.bigint() reads the same
// clock, so wall time = now_wall - (now_mono - t).
import type { HrTime } from '@opentelemetry/api';

export function monotonicToEpochNs(monoNs: bigint): bigint {
  const nowMono = process.hrtime.bigint();
  const nowWall = BigInt(Date.now()) * 1_000_000n;
  return nowWall - (nowMono - monoNs);
}

export function epochNsToHrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

export function monotonicToHrTime(monoNs: bigint): HrTime {
  return epochNsToHrTime(monotonicToEpochNs(monoNs));
}
