// TCP states as the kernel numbers them (include/net/tcp_states.h), named for attribute values.
export const TCP_STATE_NAMES: Record<number, string> = {
  1: 'established',
  2: 'syn_sent',
  3: 'syn_recv',
  4: 'fin_wait1',
  5: 'fin_wait2',
  6: 'time_wait',
  7: 'close',
  8: 'close_wait',
  9: 'last_ack',
  10: 'listen',
  11: 'closing',
  12: 'new_syn_recv',
};

export const TCP_SYN_SENT = 2;
export const TCP_LISTEN = 10;

export function tcpStateName(state: number): string {
  return TCP_STATE_NAMES[state] ?? `state_${state}`;
}

/** enum tcp_lifecycle_kind (bpf/tcp.h) */
export const TCP_LIFECYCLE_NAMES: Record<number, string> = {
  1: 'open_active',
  2: 'open_passive',
  3: 'connect_failed',
  4: 'close',
};

/** enum tcp_open_kind (bpf/tcp.h) */
/** enum tcp_open_kind (bpf/tcp.h) */
export const TCP_OPEN_ACTIVE = 1;
export const TCP_OPEN_PASSIVE = 2;
export const TCP_OPEN_NAMES: Record<number, string> = { 0: 'unknown', [TCP_OPEN_ACTIVE]: 'active', [TCP_OPEN_PASSIVE]: 'passive' };
