// A connection's request (client) or response (server) turns as the kernel sums them (struct tcp_turns in
// bpf/tcp.h, in tcp_sock_info and tcp_close_event), in seconds.
export const TURN_FIELDS = ['turns.count', 'turns.sum_ns', 'turns.sumsq_us2', 'turns.min_ns', 'turns.max_ns'] as const;

export type TurnField = (typeof TURN_FIELDS)[number];

export interface TurnStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
}

/** the turns of one record (u64 fields read by `u64`), undefined when it has none */
export function turnStats(u64: (field: TurnField) => number): TurnStats | undefined {
  const count = u64('turns.count');
  if (count === 0) return undefined;
  const mean = u64('turns.sum_ns') / count / 1e9;
  const meanSquare = u64('turns.sumsq_us2') / count / 1e12;
  return {
    count,
    min: u64('turns.min_ns') / 1e9,
    max: u64('turns.max_ns') / 1e9,
    mean,
    stddev: Math.sqrt(Math.max(0, meanSquare - mean * mean)),
  };
}

/** the span attributes of a connection's turns: tcp.request.* for a client, tcp.response.* for a server */
export function turnAttributes(stats: TurnStats, client: boolean): Record<string, number> {
  const prefix = client ? 'tcp.request' : 'tcp.response';
  return {
    [`${prefix}.count`]: stats.count,
    [`${prefix}.duration.min`]: stats.min,
    [`${prefix}.duration.max`]: stats.max,
    [`${prefix}.duration.mean`]: stats.mean,
    [`${prefix}.duration.stddev`]: stats.stddev,
  };
}
