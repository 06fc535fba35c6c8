// cgroup v2 id (what bpf_get_current_cgroup_id() and sk->sk_cgrp_data give: the inode number of the
// cgroup2 directory) → path → pod UID and container id (containerIds.ts). The tree is scanned once, then
// again only when an unknown id shows up (at most once per `rescanIntervalMs`), so per-collection cost is a
// Map lookup.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import { identityFromCgroupPath } from './containerIds';

/** Mount point of the cgroup2 hierarchy: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function findCgroup2Mount(mountinfo = '/proc/self/mountinfo'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(mountinfo, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options... - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup2') return line.split(' ')[4];
  }
  return undefined;
}

/** the attributes a cgroup gives its data points */
export const CGROUP_ATTR = { id: 'cgroup.id', path: 'cgroup.path', podUid: 'k8s.pod.uid', containerId: 'container.id' } as const;

/** how soon after a scan an id newer than any it found makes another */
const NEW_ID_RESCAN_MS = 100;

export class CgroupResolver {
  private paths = new Map<number, string>();
  private readonly attrCache = new Map<number, Attributes>();
  private lastScan = 0;
  /** the largest id the last scan found */
  private maxId = 0;

  constructor(
    readonly mount: string | undefined = findCgroup2Mount(),
    private readonly rescanIntervalMs = 2000,
  ) {
    this.scan();
  }

  /** path relative to the cgroup2 root ('/' for the root), or undefined when unknown */
  pathOf(id: number): string | undefined {
    let p = this.paths.get(id);
    if (p === undefined) {
      const since = Date.now() - this.lastScan;
      // an id above every one the last scan saw is a cgroup made since (cgroup2 ids only grow): looked up
      // at once, so that its first points carry its path (a point without it, then with it, would be two
      // series); an older unknown id is a cgroup gone, looked for again at the rescan interval
      if (since >= this.rescanIntervalMs || (id > this.maxId && since >= NEW_ID_RESCAN_MS)) {
        this.scan();
        p = this.paths.get(id);
      }
    }
    return p;
  }

  /**
   * data-point attributes for a cgroup: cgroup.id, cgroup.path (when known), k8s.pod.uid and container.id
   * (when the path names them). All are functions of cgroup.id: they add no series.
   */
  attributes(id: number): Attributes {
    const cached = this.attrCache.get(id);
    if (cached) return cached;
    const attrs: Attributes = { [CGROUP_ATTR.id]: id };
    const p = this.pathOf(id);
    if (p !== undefined) {
      attrs[CGROUP_ATTR.path] = p;
      const { podUid, containerId } = identityFromCgroupPath(p);
      if (podUid) attrs[CGROUP_ATTR.podUid] = podUid;
      if (containerId) attrs[CGROUP_ATTR.containerId] = containerId;
      this.attrCache.set(id, attrs); // unknown ids are not cached: they may appear on the next scan
    }
    return attrs;
  }

  /** whether the latest scan found this cgroup (call scan() first for a fresh answer) */
  exists(id: number): boolean {
    return this.paths.has(id);
  }

  /** forgets cached attributes of cgroups that no longer exist */
  forget(id: number): void {
    this.attrCache.delete(id);
  }

  /** rebuilds the id → path table from the cgroup2 tree (removed cgroups drop out) */
  scan(): void {
    this.lastScan = Date.now();
    if (!this.mount) return;
    const paths = new Map<number, string>();
    let maxId = 0;
    const walk = (dir: string, rel: string): void => {
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
      } catch {
        return;
      }
      paths.set(st.ino, rel);
      if (st.ino > maxId) maxId = st.ino;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.isDirectory()) walk(path.join(dir, e.name), rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
      }
    };
    walk(this.mount, '/');
    this.paths = paths;
    this.maxId = maxId;
  }
}

/** cgroup v2 id of a process: inode of its cgroup2 directory (from /proc/PID/cgroup's "0::" line). */
export function cgroupIdOfPid(pid: number | 'self', mount = findCgroup2Mount()): number | undefined {
  if (!mount) return undefined;
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return undefined;
    return fs.statSync(path.join(mount, line.slice(3))).ino;
  } catch {
    return undefined;
  }
}
