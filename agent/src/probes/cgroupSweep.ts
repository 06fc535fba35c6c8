// Per-cgroup kernel maps keep an entry for every cgroup that ever had an event; on hosts with container
// churn they would fill up (and count map_full drops). A sweep removes the entries of cgroups that are gone
// from the cgroup2 tree. A cgroup must be missing at two sweeps in a row, so its final values have been
// exported at least once in between (the sweep interval is longer than the export interval). An entry that
// counts again after its sweep (a socket outliving its cgroup) starts over: the producer sees the reset and
// gives the series a new start time. Run as a maintenance task (maintenance.ts), never at a collection.
import type { Logger } from 'pino';
import type { CgroupResolver } from '../host/cgroups';
import type { LoadedFamily } from './load';
import { readU64 } from '../kernel/mapValues';

export class CgroupSweep {
  private missingBefore = new Set<number>();

  constructor(
    private readonly families: LoadedFamily[],
    private readonly cgroups: CgroupResolver,
    private readonly logger: Logger,
  ) {}

  /** one sweep; returns how many map entries were deleted */
  run(): number {
    if (!this.cgroups.mount) return 0;
    this.cgroups.scan();
    const missingNow = new Set<number>();
    const swept = new Set<number>();
    let deleted = 0;
    for (const { family, object } of this.families) {
      const cgOff = object.layout('kotel_cg_key').fields.cgroup_id.offset;
      for (const map of new Set(family.kernelMetrics.map((m) => m.map))) {
        const { keySize } = object.mapInfo(map);
        const batch = object.readMap(map);
        const stale: Buffer[] = [];
        for (let i = 0; i < batch.count; i++) {
          const id = readU64(batch.keys, i * keySize + cgOff);
          // 0: what the kernel itself does (kernel RDMA users, interrupts with no task), never a cgroup
          if (id === 0 || this.cgroups.exists(id)) continue;
          missingNow.add(id);
          if (!this.missingBefore.has(id)) continue;
          stale.push(batch.keys.subarray(i * keySize, (i + 1) * keySize));
          swept.add(id);
        }
        if (stale.length) deleted += object.deleteKeys(map, Buffer.concat(stale), stale.length);
      }
    }
    for (const id of swept) this.cgroups.forget(id);
    this.missingBefore = missingNow;
    if (deleted) this.logger.debug(`cgroup sweep: removed ${deleted} map entries of deleted cgroups`);
    return deleted;
  }
}
