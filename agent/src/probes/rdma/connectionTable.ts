// The console report's table of live RDMA connections (QPs in RTR or later with a destination).
import type { CgroupResolver } from '../../host/cgroups';
import type { Connection } from './qps';

export const MAX_CONNECTION_ROWS = 20;

export function connectionTable(connections: Connection[], cgroups: CgroupResolver, maxRows = MAX_CONNECTION_ROWS): string[] {
  const lines = [`RDMA connections: ${connections.length} live`];
  if (connections.length === 0) return lines;
  const rows = connections
    .slice()
    .sort((a, b) => a.device.localeCompare(b.device) || a.srcQpn - b.srcQpn)
    .slice(0, maxRows)
    .map((c) => {
      const cg = cgroups.attributes(c.cgroupId);
      const where =
        (cg['container.id'] as string | undefined)?.slice(0, 12) ?? (cg['cgroup.path'] as string | undefined) ?? `cgroup:${c.cgroupId}`;
      return [c.device, `${c.srcGid}/${c.srcQpn}`, `${c.dstGid}/${c.dstQpn}`, c.state, `${c.pid} ${c.comm}`, where];
    });
  const header = ['device', 'source gid/qpn', 'destination gid/qpn', 'state', 'pid comm', 'cgroup'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    '  ' +
    r
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  if (connections.length > maxRows) lines.push(`  … and ${connections.length - maxRows} more`);
  return lines;
}
