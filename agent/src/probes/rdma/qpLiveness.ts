// What the kernel says of the QP table's QPs, for QpTable.reconcile(): the live-object map (rdma_objects,
// exact whatever the ring lost) for QPs kotel saw created; for older QPs, what else is known of them.
import type { Seeds } from './seed';
import { RDMA_RES_QP } from './names';
import { processAlive, type LiveObject } from './objects';
import type { QpLiveness } from './qps';

/** user path: rdma_objects is keyed by (process, ibv_qp address) and holds the QPN; a QP older than
 * kotel is not in it and lives as long as its process */
export function userQpLiveness(tracked: LiveObject[], alive: (tgid: number) => boolean = processAlive): QpLiveness {
  const qpns = new Map<string, number | undefined>();
  for (const o of tracked) if (o.type === RDMA_RES_QP) qpns.set(`${o.tgid}:${o.ptr}`, o.handle);
  return {
    // the QPN too: an address reused by a QP whose create record was lost is another QP
    mapped: (tgid, qp, qpn) => qpns.get(`${tgid}:${qp}`) === qpn,
    older: ({ tgid }) => (alive(tgid) ? undefined : 'process_exit'),
  };
}

/** kernel path: rdma_objects is keyed by the rdma_restrack_entry's address alone (its restrack id, read
 * before the add on the kprobe rung, may not be the QPN); a QP older than kotel is known from the netlink
 * seeds, else lives as long as its process (kernel users, pid 0: until it is destroyed) */
export function kernelQpLiveness(
  tracked: LiveObject[],
  seeds: Pick<Seeds, 'state'>,
  alive: (tgid: number) => boolean = processAlive,
): QpLiveness {
  const entries = new Set<bigint>();
  for (const o of tracked) if (o.type === RDMA_RES_QP && o.ptr !== undefined) entries.add(o.ptr);
  return {
    mapped: (_tgid, qp) => entries.has(qp),
    older: ({ tgid, device, qpn }) => {
      const seeded = seeds.state(device, RDMA_RES_QP, qpn);
      if (seeded !== 'unknown') return seeded === 'live' ? undefined : 'destroy_unseen';
      return tgid !== 0 && !alive(tgid) ? 'process_exit' : undefined;
    },
  };
}
