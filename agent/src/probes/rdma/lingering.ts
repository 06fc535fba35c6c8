// Series that keep reporting 0 once their objects are gone, until their cgroup is removed: remembered at
// maintenance, only read at collection.
export class LingeringSeries<T extends { cgroupId: number }> {
  private readonly seen = new Map<string, T>();

  constructor(private readonly cgroupGone: (id: number) => boolean) {}

  /** maintenance: remembers the series there are now; forgets the gone ones whose cgroup is removed */
  remember(now: Map<string, T>): void {
    for (const [key, s] of this.seen) if (!now.has(key) && this.cgroupGone(s.cgroupId)) this.seen.delete(key);
    for (const [key, s] of now) this.seen.set(key, s);
  }

  /** collection: the series now, and as zero(s) those remembered that are gone while their cgroup is not */
  withGone(now: Map<string, T>, zero: (s: T) => T): Map<string, T> {
    const out = new Map(now);
    for (const [key, s] of this.seen) if (!out.has(key) && !this.cgroupGone(s.cgroupId)) out.set(key, zero(s));
    return out;
  }
}
