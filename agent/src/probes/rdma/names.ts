// Names for the numbers in bpf/rdma.h and libibverbs' enums, as attribute values.
import { errnoName } from '../../kernel/errno';
import { ATTR } from '../../otel/semconv';
import { RDMA_ATTR } from './semconv';

/** enum rdma_verb (bpf/rdma.h) → rdma.verb: the libibverbs function without its ibv_ prefix */
export const RDMA_VERB_NAMES: Record<number, string> = {
  1: 'open_device',
  2: 'close_device',
  3: 'alloc_pd',
  4: 'dealloc_pd',
  5: 'create_cq',
  6: 'destroy_cq',
  7: 'reg_mr',
  8: 'dereg_mr',
  9: 'create_qp',
  10: 'modify_qp',
  11: 'destroy_qp',
  12: 'query_gid',
};

/** enum rdma_resource (bpf/rdma.h) → rdma.resource.type */
export const RDMA_RESOURCE_NAMES: Record<number, string> = { 1: 'context', 2: 'pd', 3: 'cq', 4: 'mr', 5: 'qp', 6: 'srq', 7: 'cm_id' };
export const RDMA_RES_QP = 5;

/** enum rdma_cm_event (bpf/rdma_kernel.h) → rdma.cm.event: the rdma_cma tracepoint without its cm_ prefix */
export const RDMA_CM_EVENT_NAMES: Record<number, string> = {
  1: 'send_req',
  2: 'send_rep',
  3: 'send_rtu',
  4: 'send_rej',
  5: 'disconnect',
  6: 'qp_create',
  7: 'qp_destroy',
  8: 'id_destroy',
};

/** attributes of a rdma_cm_events key kind: event | errno << 8 */
export function cmEventAttributes(kind: number): Record<string, string> {
  const event = RDMA_CM_EVENT_NAMES[kind & 0xff] ?? `event_${kind & 0xff}`;
  const err = kind >>> 8;
  return err === 0 ? { [RDMA_ATTR.cmEvent]: event } : { [RDMA_ATTR.cmEvent]: event, [ATTR.errorType]: errnoName(err) };
}

/** enum ibv_qp_state → rdma.qp.state */
export const QP_STATE_NAMES: Record<number, string> = { 0: 'reset', 1: 'init', 2: 'rtr', 3: 'rts', 4: 'sqd', 5: 'sqe', 6: 'err' };
export const QPS_RTR = 2;

/** enum ibv_qp_type → rdma.qp.type */
export const QP_TYPE_NAMES: Record<number, string> = { 2: 'rc', 3: 'uc', 4: 'ud', 8: 'raw_packet', 9: 'xrc_send', 10: 'xrc_recv' };

/** enum rdma_qp_event_kind (bpf/rdma.h) */
export const QP_EVENT = { create: 1, modify: 2, destroy: 3 } as const;

/** RDMA_ERR_UNKNOWN (bpf/rdma.h): the verb failed but its errno is in the caller's thread-local errno */
export const RDMA_ERR_UNKNOWN = 0xffff;

export function qpStateName(state: number): string {
  return QP_STATE_NAMES[state] ?? `state_${state}`;
}

export function resourceName(type: number): string {
  return RDMA_RESOURCE_NAMES[type] ?? `type_${type}`;
}

/** attributes of a rdma_verb_calls key kind: verb | error << 8 */
export function verbCallAttributes(kind: number): Record<string, string> {
  const verb = RDMA_VERB_NAMES[kind & 0xff] ?? `verb_${kind & 0xff}`;
  const err = kind >>> 8;
  if (err === 0) return { [RDMA_ATTR.verb]: verb };
  return { [RDMA_ATTR.verb]: verb, [ATTR.errorType]: err === RDMA_ERR_UNKNOWN ? '_OTHER' : errnoName(err) };
}

/** a GID as sysfs and ibv_devinfo print it: 8 groups of 4 hex digits */
export function formatGid(raw: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/** families.rdma.ringBufferBytes, checked: BPF ring buffers are a power-of-two number of pages */
export function ringBufferBytes(n: number): number {
  if (n < 4096 || (n & (n - 1)) !== 0)
    throw new Error(`families.rdma.ringBufferBytes = ${n}: must be a power of two of at least 4096 (e.g. 4194304)`);
  return n;
}
