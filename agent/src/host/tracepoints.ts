// Whether the running kernel has a tracepoint: its raw-tracepoint typedef (btf_trace_<name>) is in the
// kernel's BTF, which every kernel kotel can run on has (CO-RE needs it). For ladders whose tracepoint rungs
// exist only on newer kernels (sock_send_length: 6.3+), so that no rung is tried where it cannot attach.
import * as fs from 'node:fs';

const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

/** undefined when the BTF cannot be read (the rung is then tried, and fails with its own reason) */
export function hasTracepoint(name: string, btfFile = VMLINUX_BTF): boolean | undefined {
  let btf: Buffer;
  try {
    btf = fs.readFileSync(btfFile);
  } catch {
    return undefined;
  }
  // a NUL-terminated name in the BTF string section
  return btf.indexOf(`\0btf_trace_${name}\0`) >= 0;
}
