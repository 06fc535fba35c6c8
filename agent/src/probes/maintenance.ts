// Everything that changes kernel maps or family state besides the events themselves (cgroup sweeps,
// evictions, exited processes' entries, QP reconciliation) runs here, on one timer of its own, so that
// a collection (an OTLP export, a Prometheus scrape, the console report) only reads.
export interface MaintenanceLog {
  warn(msg: string): void;
}

interface Task {
  name: string;
  run: () => void;
  /** runs at every n-th tick */
  every: number;
}

export class Maintenance {
  private readonly tasks = new Set<Task>();
  private readonly failureCounts = new Map<string, number>();
  private ticks = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    /** between two ticks (ms) */
    readonly tickMs: number,
    private readonly logger: MaintenanceLog,
  ) {}

  /** runs `run` about every everyMs (rounded up to whole ticks); returns its removal */
  add(name: string, run: () => void, everyMs = this.tickMs): () => void {
    const task: Task = { name, run, every: Math.max(1, Math.ceil(everyMs / this.tickMs)) };
    this.tasks.add(task);
    return () => this.tasks.delete(task);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** one tick: the tasks due now, in the order they were added. A throw is logged and counted
   * (kotel.maintenance.failures), never thrown: this runs in a timer callback */
  tick(): void {
    this.ticks++;
    for (const task of [...this.tasks]) {
      if (this.ticks % task.every !== 0) continue;
      try {
        task.run();
      } catch (err) {
        this.failureCounts.set(task.name, (this.failureCounts.get(task.name) ?? 0) + 1);
        this.logger.warn(`${task.name} failed: ${(err as Error).message}`);
      }
    }
  }

  /** failed runs so far, by task */
  failures(): Iterable<[task: string, n: number]> {
    return this.failureCounts.entries();
  }

  /** stops the timer and forgets the tasks; idempotent */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.tasks.clear();
  }
}
