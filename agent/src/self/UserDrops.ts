// Events lost in user space (undecodable records, spans the exporter could not deliver), by family and
// reason; exported with the kernel's own drop counters as kotel.events.dropped.
export class UserDrops {
  private readonly counts = new Map<string, { family: string; reason: string; n: number }>();

  add(family: string, reason: string, n = 1): void {
    const key = `${family}|${reason}`;
    const entry = this.counts.get(key);
    if (entry) entry.n += n;
    else this.counts.set(key, { family, reason, n });
  }

  entries(): Iterable<{ family: string; reason: string; n: number }> {
    return this.counts.values();
  }
}
