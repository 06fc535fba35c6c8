// tcp.connection.active: live sockets by (cgroup, state), counted from the tcp_socks map when a reader
// collects. Sockets that existed before the agent started appear from their first state change on.
import { TCP, TCP_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext, FamilyRuntime } from '../types';
import { tcpStateName } from './states';

export function observeConnectionCount(ctx: FamilyContext): FamilyRuntime {
  const info = new RecordReader(ctx.object.layout('tcp_sock_info'), ['cgroup_id', 'state'] as const, 'tcp_sock_info');
  const gauge = ctx.meter.createObservableUpDownCounter(TCP.connections.name, {
    unit: TCP.connections.unit,
    description: TCP.connections.description,
  });
  const callback = (result: { observe(value: number, attrs: Record<string, string | number>): void }) => {
    const batch = ctx.object.readMap('tcp_socks');
    const counts = new Map<string, { cgroupId: number; state: number; n: number }>();
    for (let i = 0; i < batch.count; i++) {
      const base = i * batch.valueStride;
      const cgroupId = info.u64(batch.values, base, 'cgroup_id');
      const state = info.u32(batch.values, base, 'state');
      const key = `${cgroupId}|${state}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { cgroupId, state, n: 1 });
    }
    for (const { cgroupId, state, n } of counts.values()) {
      result.observe(n, {
        ...(ctx.cgroups.attributes(cgroupId) as Record<string, string | number>),
        [TCP_ATTR.state]: tcpStateName(state),
      });
    }
  };
  gauge.addCallback(callback);
  return { close: () => gauge.removeCallback(callback) };
}
