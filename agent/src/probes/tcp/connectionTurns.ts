// The report's per-connection breakdown (families.tcp.requestLatency): every live connection with turns, from
// the tcp_socks map when the report is made, and the last connections that closed with turns (their close
// events, with families.tcp.connectionSpans); the busiest REPORT_CONNECTIONS of them.
import type { Attributes } from '@opentelemetry/api';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext } from '../types';
import { TUPLE_FIELDS, tupleAttributes, type DecodedClose } from './connectionSpans';
import { TCP_OPEN_ACTIVE, TCP_OPEN_PASSIVE } from './states';
import { TURN_FIELDS, turnStats, type TurnStats } from './turns';

/** connections listed in a report, the most turns first; closed ones kept for it */
export const REPORT_CONNECTIONS = 1000;

export interface ConnectionTurns {
  role: 'client' | 'server';
  open: boolean;
  attributes: Attributes;
  turns: TurnStats;
}

const FIELDS = ['cgroup_id', 'open_kind', ...TUPLE_FIELDS, ...TURN_FIELDS] as const;

export class ConnectionTurnsReport {
  private readonly closed: ConnectionTurns[] = [];
  private readonly info: RecordReader<(typeof FIELDS)[number]>;

  constructor(private readonly ctx: FamilyContext) {
    this.info = new RecordReader(ctx.object.layout('tcp_sock_info'), FIELDS, 'tcp_sock_info');
  }

  /** a connection closed (connectionSpans): kept for the next reports, the oldest going first */
  closedOne(ev: DecodedClose): void {
    if (!ev.turns) return;
    const a = ev.attributes;
    const attributes: Attributes = {};
    for (const k of [
      'cgroup.id',
      'cgroup.path',
      'k8s.pod.uid',
      'container.id',
      'network.local.address',
      'network.local.port',
      'network.peer.address',
      'network.peer.port',
    ])
      if (a[k] !== undefined) attributes[k] = a[k];
    this.closed.push({ role: ev.active ? 'client' : 'server', open: false, attributes, turns: ev.turns });
    if (this.closed.length > REPORT_CONNECTIONS) this.closed.shift();
  }

  connections(): ConnectionTurns[] {
    const r = this.info;
    const batch = this.ctx.object.readMap('tcp_socks');
    const live: ConnectionTurns[] = [];
    for (let i = 0; i < batch.count; i++) {
      const base = i * batch.valueStride;
      const openKind = r.u32(batch.values, base, 'open_kind');
      const turns = turnStats((f) => r.u64(batch.values, base, f));
      if (!turns || (openKind !== TCP_OPEN_ACTIVE && openKind !== TCP_OPEN_PASSIVE)) continue;
      live.push({
        role: openKind === TCP_OPEN_ACTIVE ? 'client' : 'server',
        open: true,
        attributes: { ...this.ctx.cgroups.attributes(r.u64(batch.values, base, 'cgroup_id')), ...tupleAttributes(r, batch.values, base) },
        turns,
      });
    }
    return [...live, ...this.closed].sort((x, y) => y.turns.count - x.turns.count).slice(0, REPORT_CONNECTIONS);
  }
}
