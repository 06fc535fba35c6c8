// Lifecycle: config → privileges → BPF objects (load, attach) → OTel providers with the kernel-map
// producer → family runtimes (ring buffers, spans, observable instruments). shutdown() stops the ring
// buffers, flushes a final export, then detaches; it is idempotent.
import type { HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import type { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import { redactSecrets, type HistogramAggregation, type KotelConfig } from './config';
import { CgroupResolver } from './host/cgroups';
import { missingBpfPrivileges, UserError } from './host/privileges';
import { native } from './native';
import { KernelMetricProducer } from './otel/KernelMetricProducer';
import { buildReport, type Report } from './otel/report';
import { StreamSampler } from './otel/streamSampler';
import { kotelVersion } from './otel/resource';
import { createTelemetry } from './otel/telemetry';
import { CgroupSweep } from './probes/cgroupSweep';
import { Maintenance } from './probes/maintenance';
import { loadFamilies, type LoadedFamily, type LoadResult } from './probes/load';
import { watchModules } from './probes/moduleWatch';
import { familyOfMetric, families, folderOf, spanFamily } from './probes/registry';
import type { FamilyRuntime } from './probes/types';
import { AgentReadiness } from './self/readiness';
import { registerSelfMetrics } from './self/selfMetrics';
import { UserDrops } from './kernel/drops';
import { scaleLayout } from './kernel/exponentialBuckets';

export class Agent {
  private load?: LoadResult;
  private telemetry?: ReturnType<typeof createTelemetry>;
  /** each started family's runtime, with its configured family (the report's sections go there) */
  private runtimes: Array<{ folder: string; runtime: FamilyRuntime }> = [];
  private stopping?: Promise<void>;
  private statsEnabled = false;
  private maintenance?: Maintenance;
  private startTime?: HrTime;

  /** what /readyz and systemd's READY=1 report */
  readonly readiness: AgentReadiness;

  constructor(
    readonly config: KotelConfig,
    readonly logger: Logger,
  ) {
    this.readiness = new AgentReadiness(!config.sdk.disabled && config.otlp.enabled);
  }

  /** what loaded and attached (after start) */
  get loadResult(): LoadResult | undefined {
    return this.load;
  }

  private stopModuleWatch?: () => void;

  async start(): Promise<void> {
    const missing = missingBpfPrivileges();
    if (missing) throw new UserError(missing);
    if (this.config.bpf.runTimeStats) {
      this.statsEnabled = native.enableRunTimeStats();
      if (!this.statsEnabled)
        this.logger.warn('bpf.runTimeStats: the kernel refused BPF_ENABLE_STATS; kotel.bpf.run.time and kotel.bpf.runs stay empty');
    }

    const cgroups = new CgroupResolver();
    if (!cgroups.mount) this.logger.warn('no cgroup2 hierarchy mounted: metrics carry cgroup.id without cgroup.path');
    const startTime = (this.startTime = hrTime());
    const load = (this.load = loadFamilies(this.config, families, this.logger));
    if (load.loaded.length === 0) {
      this.logger.error('no probe family could be loaded; only self-metrics will be exported (see `kotel probes`)');
    }
    // read at each collection: families whose modules appear later join load.loaded
    const sources = () => load.loaded.map(({ family, object }) => ({ family: family.name, object, metrics: family.kernelMetrics }));
    const drops = new UserDrops();
    const histogramLayout = scaleLayout(this.config.metrics.histogramScale);
    // at the collection interval, as map maintenance ran before it moved out of the collections
    const maintenance = (this.maintenance = new Maintenance(this.config.metrics.interval, this.logger));
    let self: ReturnType<typeof registerSelfMetrics> | undefined;
    // each family's spans at its families.<family>.spanSampling
    const sampler = new StreamSampler((name, attributes) => {
      const family = spanFamily(name, attributes);
      const folder = folderOf(family);
      const config = folder ? this.config.families[folder] : undefined;
      return { family, ratio: config && 'spanSampling' in config && typeof config.spanSampling === 'number' ? config.spanSampling : 1 };
    });
    this.telemetry = createTelemetry(this.config, {
      producerFor: (temporality: AggregationTemporality, aggregation: HistogramAggregation) =>
        new KernelMetricProducer(sources, cgroups, temporality, startTime, { layout: histogramLayout, aggregation }),
      logger: this.logger,
      onExportResult: (signal, ok, items) => {
        self?.exportResult(signal, ok, items);
        if (signal === 'metrics') this.readiness.metricsExported(ok);
      },
      readiness: () => this.readiness.state(),
      report: () => this.report(),
      sampler,
      onSpanDropped: (span) => drops.add(spanFamily(span.name, span.attributes), 'span_queue_full'),
    });
    await this.telemetry.ready;
    const meter = this.telemetry.meterProvider.getMeter('kotel');
    const tracer = this.telemetry.tracerProvider.getTracer('kotel');
    self = registerSelfMetrics(meter, load, drops, maintenance, sampler.sampledOut);

    const report = this.telemetry.console;
    const startFamily = ({ family, object }: LoadedFamily) => {
      if (family.start)
        this.runtimes.push({
          folder: folderOf(family.name) ?? family.name,
          runtime: family.start({
            object,
            config: this.config,
            meter,
            tracer,
            cgroups,
            logger: this.logger,
            drops,
            maintenance,
            console: report,
          }),
        });
    };
    load.loaded.forEach(startFamily);
    // a family loaded late (its module appeared) changes what /readyz and systemd's STATUS= say
    this.stopModuleWatch = watchModules(this.config, load, this.logger, (late) => {
      startFamily(late);
      this.readiness.started(this.attachSummary());
    });
    // sweep less often than exports, so a removed cgroup's last values are exported before its entries go
    const sweep = new CgroupSweep(load.loaded, cgroups, this.logger);
    maintenance.add('cgroup sweep', () => sweep.run(), Math.max(60_000, 3 * this.config.metrics.interval));
    maintenance.start();
    const attached = load.loaded.flatMap((l) => l.attachments).filter((a) => a.attached).length;
    this.logger.info(`kotel running: ${load.loaded.map((l) => l.family.name).join(', ') || 'no families'} (${attached} probes attached)`);
    this.readiness.started(this.attachSummary());
  }

  /** the JSON report of everything measured since the start (GET /report, kotel record) */
  async report(): Promise<Report> {
    const rm = await this.telemetry?.snapshot();
    if (!rm || !this.startTime) throw new Error('no report: the agent has not started, or sdk.disabled is set');
    const probes: Record<string, { attached: number; total: number }> = {};
    for (const { family, attachments } of this.load?.loaded ?? []) {
      const p = (probes[folderOf(family.name) ?? family.name] ??= { attached: 0, total: 0 });
      p.attached += attachments.filter((a) => a.attached).length;
      p.total += attachments.length;
    }
    const sections: Record<string, Record<string, unknown>> = {};
    for (const { folder, runtime } of this.runtimes) if (runtime.report) Object.assign((sections[folder] ??= {}), runtime.report());
    const context = {
      version: kotelVersion(),
      startTime: this.startTime,
      config: redactSecrets(this.config),
      familyOf: familyOfMetric,
      probes,
      sections,
    };
    return buildReport(rm, context, hrTime());
  }

  /** e.g. "tcp, sched: 7 of 7 probes attached" */
  private attachSummary(): string {
    const loaded = this.load?.loaded ?? [];
    const attachments = loaded.flatMap((l) => l.attachments);
    const names = loaded.map((l) => l.family.name).join(', ') || 'no families';
    return `${names}: ${attachments.filter((a) => a.attached).length} of ${attachments.length} probes attached`;
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    this.readiness.stop();
    this.maintenance?.close();
    this.stopModuleWatch?.();
    for (const { runtime: r } of this.runtimes.splice(0)) {
      try {
        r.close();
      } catch (err) {
        this.logger.warn(`closing a family runtime: ${(err as Error).message}`);
      }
    }
    try {
      await this.telemetry?.shutdown();
    } catch (err) {
      this.logger.warn(`final export: ${(err as Error).message}`);
    }
    const loaded = this.load?.loaded ?? [];
    for (const { object } of loaded) object.close();
    if (this.statsEnabled) native.disableRunTimeStats();
    if (loaded.length) this.logger.info('kotel stopped: programs detached');
  }
}
