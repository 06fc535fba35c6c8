/** Compact number formatting for the console report. */

/** seconds → "412ns", "3.20µs", "12.5ms", "1.25s" */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return String(s);
  const a = Math.abs(s);
  if (a === 0) return '0s';
  if (a < 1e-6) return `${sig(s * 1e9)}ns`;
  if (a < 1e-3) return `${sig(s * 1e6)}µs`;
  if (a < 1) return `${sig(s * 1e3)}ms`;
  return `${sig(s)}s`;
}

/** bytes → "512B", "1.50KiB", ... */
export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)}B` : `${sig(v)}${units[i]}`;
}

/** 3 significant digits, no exponent for usual magnitudes: 1234567 → "1.23M" */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (Number.isInteger(n) && a < 100000) return String(n);
  if (a >= 1e12) return `${sig(n / 1e12)}T`;
  if (a >= 1e9) return `${sig(n / 1e9)}G`;
  if (a >= 1e6) return `${sig(n / 1e6)}M`;
  if (a >= 1e5) return `${sig(n / 1e3)}k`;
  return sig(n);
}

function sig(n: number): string {
  const a = Math.abs(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** a value with the metric's unit: durations and bytes scaled, others as number + unit annotation */
export function formatWithUnit(value: number, unit: string): string {
  switch (unit) {
    case 's':
      return formatSeconds(value);
    case 'ms':
      return formatSeconds(value / 1e3);
    case 'us':
      return formatSeconds(value / 1e6);
    case 'ns':
      return formatSeconds(value / 1e9);
    case 'By':
      return formatBytes(value);
    default:
      return formatNumber(value);
  }
}
