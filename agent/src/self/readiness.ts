// The agent's readiness, as /readyz and systemd's READY=1 report it: every enabled family attached what it
// could (Agent.start finished) and the first OTLP metrics export finished (when OTLP is on; its outcome is in
// the detail and in kotel.export.results, a collector that is down does not make the agent unready).
import type { Readiness } from '../otel/prometheusEndpoint';

export class AgentReadiness {
  private attached?: string;
  private firstExport?: boolean;
  private stopping = false;
  private resolve!: () => void;
  private readonly listeners: Array<(state: Readiness) => void> = [];
  private lastDetail?: string;
  /** resolves the first time the agent is ready */
  readonly whenReady = new Promise<void>((r) => (this.resolve = r));

  constructor(private readonly awaitsExport: boolean) {}

  /** Agent.start finished: what attached, e.g. "tcp, sched: 12 of 14 probes attached" */
  started(attached: string): void {
    this.attached = attached;
    this.check();
  }

  metricsExported(ok: boolean): void {
    this.firstExport ??= ok;
    this.check();
  }

  stop(): void {
    this.stopping = true;
    this.check();
  }

  /** called with the new state at every change (systemd's STATUS=) */
  onChange(listener: (state: Readiness) => void): void {
    this.listeners.push(listener);
  }

  state(): Readiness {
    if (this.stopping) return { ready: false, detail: 'stopping' };
    if (this.attached === undefined) return { ready: false, detail: 'starting: loading and attaching the BPF programs' };
    if (this.awaitsExport && this.firstExport === undefined)
      return { ready: false, detail: `${this.attached}; waiting for the first OTLP metrics export` };
    const exported = !this.awaitsExport ? '' : this.firstExport ? '; first OTLP export ok' : '; first OTLP export failed (see the log)';
    return { ready: true, detail: `${this.attached}${exported}` };
  }

  private check(): void {
    const state = this.state();
    if (state.ready) this.resolve();
    // every export reports here: only a change reaches the listeners
    if (state.detail === this.lastDetail) return;
    this.lastDetail = state.detail;
    for (const listener of this.listeners) listener(state);
  }
}
