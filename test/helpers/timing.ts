// Waits and deadlines of the tests, stretched by KOTEL_TEST_TIME_SCALE (default 1) on slow machines such as
// an emulated guest (test/kernels/matrix.ts sets it). Only waits: workload durations are ground truth.
const raw = process.env.KOTEL_TEST_TIME_SCALE;
const factor = raw === undefined || raw === '' ? 1 : Number(raw);
if (!Number.isFinite(factor) || factor < 1) throw new Error(`KOTEL_TEST_TIME_SCALE must be a number >= 1, not "${raw}"`);

export const TIME_SCALE = factor;

/** a wait or deadline of `ms` on this machine */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}
