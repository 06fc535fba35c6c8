// Loading BPF programs needs CAP_BPF + CAP_PERFMON (Linux >= 5.8) or CAP_SYS_ADMIN: check before trying,
// so the user gets one line saying what is missing instead of a libbpf EPERM.
import * as fs from 'node:fs';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function effectiveCapabilities(status = '/proc/self/status'): bigint | undefined {
  try {
    const line = fs
      .readFileSync(status, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CapEff:'));
    return line ? BigInt(`0x${line.slice(7).trim()}`) : undefined;
  } catch {
    return undefined;
  }
}

/** undefined when the process may load and attach BPF programs, else a one-line explanation */
export function missingBpfPrivileges(caps = effectiveCapabilities()): string | undefined {
  if (caps === undefined) return undefined; // cannot tell: let the kernel answer
  const has = (bit: bigint) => (caps >> bit) & 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return undefined;
  const missing = [!has(CAP_BPF) && 'CAP_BPF', !has(CAP_PERFMON) && 'CAP_PERFMON'].filter(Boolean).join(' and ');
  return (
    `needs root (or ${missing}; the uprobes need CAP_SYS_ADMIN) to load eBPF programs: ` +
    'run it with sudo, or as the systemd service deploy/systemd/kotel.service (README: systemd)'
  );
}

/** an error meant for the user: the CLI prints its message alone, without a stack */
export class UserError extends Error {
  readonly kotelUserError = true;
}
