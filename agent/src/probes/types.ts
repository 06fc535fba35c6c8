// What a probe family declares. Adding a family is one folder (its descriptors and config fragment, exported as
// a FamilyFolder) plus a line in registry.ts; the loader, the kernel-map MetricProducer and the self-metrics
// are generic.
import type { Meter, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { KotelConfig } from '../config';
import type { CgroupResolver } from '../host/cgroups';
import type { BpfObject, OpenOptions } from '../native';
import type { KernelMetric } from '../otel/kernelMetric';
import type { SchemaNode } from '../config/spec';
import type { UserDrops } from '../kernel/drops';
import type { Maintenance } from './maintenance';

/** expected map shapes, checked at start-up: a BTF type name or a byte count */
export interface MapShape {
  key?: string | number;
  value?: string | number;
}

export interface FamilyContext {
  object: BpfObject;
  config: KotelConfig;
  meter: Meter;
  tracer: Tracer;
  cgroups: CgroupResolver;
  logger: Logger;
  drops: UserDrops;
  /** where map maintenance and state pruning run: never in an observable callback, which only reads */
  maintenance: Pick<Maintenance, 'add'>;
  /** the console report, when on: families may add a section (a table) printed after the metrics */
  console?: { addSection(section: () => string[]): () => void };
}

export interface FamilyRuntime {
  close(): void;
  /** the family's own sections of the JSON report (otel/report.ts), e.g. tcp's connections */
  report?(): Record<string, unknown>;
}

/** why a family cannot load here: one line for the log and `kotel probes`, a code for error.type */
export interface Unavailable {
  reason: string;
  /** e.g. no_rdma, module_not_loaded, module_without_btf */
  code: string;
  /** what it hooks is not on this host (no RDMA, its module not loaded): expected, not a failure (`kotel probes`: absent) */
  absent?: boolean;
}

export interface Family {
  /** one basename across the stack: bpf/<name>.bpf.c, agent/src/probes/<name>/ */
  name: string;
  enabled(config: KotelConfig): boolean;
  /** optional pre-check before loading: why the family cannot work on this host, or undefined */
  unavailable?(config: KotelConfig): Unavailable | undefined;
  /** kernel modules it hooks: unavailable at start, the family is loaded when they appear (bpf.moduleWatchInterval) */
  modules?: string[];
  openOptions(config: KotelConfig): OpenOptions;
  /** maps read besides the kernel-metric maps (whose shapes follow from kernelMetrics) */
  maps: Record<string, MapShape>;
  /** per-CPU array indexed by enum kotel_drop_reason */
  dropsMap: string;
  kernelMetrics: KernelMetric[];
  /** whether it makes this span (for the family of a span the export queue had no room for) */
  makesSpan?(name: string, attributes: Record<string, unknown>): boolean;
  /** ring buffers, spans and observable instruments that are not plain kernel maps */
  start?(ctx: FamilyContext): FamilyRuntime;
}

/** what a family folder (agent/src/probes/<folder>/index.ts) exports: its keys under families.<folder> in the
 * config and one Family per BPF object it loads, in load order */
export interface FamilyFolder {
  config: SchemaNode;
  families: Family[];
}
