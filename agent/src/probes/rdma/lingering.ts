// Series that keep reporting 0 once their objects are gone, until their cgroup is removed. A collection
// remembers what it reported (a series a reader saw must go to 0, however short its life); only
// maintenance forgets, once the cgroup is removed.
export class LingeringSeries<T extends { cgroupId: number }> {
  private readonly seen = new Map<string, T>();

  constructor(private readonly cgroupGone: (id: number) => boolean) {}

  /** collection: the series now, and as zero(s) those reported before that are gone while their cgroup
   * is not; remembers the series now */
  report(now: Map<string, T>, zero: (s: T) => T): Map<string, T> {
    const out = new Map(now);
    for (const [key, s] of this.seen) if (!out.has(key) && !this.cgroupGone(s.cgroupId)) out.set(key, zero(s));
    for (const [key, s] of now) this.seen.set(key, s);
    return out;
  }

  /** maintenance: forgets the series whose cgroup is removed */
  prune(): void {
    for (const [key, s] of this.seen) if (this.cgroupGone(s.cgroupId)) this.seen.delete(key);
  }
}
