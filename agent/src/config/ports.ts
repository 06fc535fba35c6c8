// The 'ports' config format's values (families.tcp.requestPorts); no imports, so probes may use it.

/** most ports a 'ports' key lists (the BPF programs compare against that many rodata knobs) */
export const MAX_PORTS = 8;

/** a 'ports' value ("80,443") as numbers; throws what is wrong */
export function parsePortList(v: string): number[] {
  const ports = v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (ports.length > MAX_PORTS) throw new Error(`at most ${MAX_PORTS} ports`);
  return ports.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new Error(`${JSON.stringify(p)} is no port 1-65535`);
    return Number(p);
  });
}
