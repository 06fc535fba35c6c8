// A MetricProducer that turns kernel maps into OTel data at collection time: one batch read per map per
// collection, no per-event work in user space. One instance per MetricReader, built for its temporality.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { HistogramAggregation } from '../config';
import type { CgroupResolver } from '../host/cgroups';
import type { BpfObject, MapInfo } from '../native';
import { readU64, u32Words } from '../kernel/mapValues';
import { CHUNK_SLOTS, type ScaleLayout } from '../kernel/exponentialBuckets';
import type { KernelHistogram, KernelMetric } from './kernelMetric';
import {
  chunkSlots,
  classicBuckets,
  slotsReset,
  subtractSlots,
  toExplicit,
  toExponential,
  type ClassicBuckets,
  type KernelSlots,
  type SlotChunk,
} from './histogram';

export interface KernelMetricSource {
  family: string;
  object: BpfObject;
  metrics: KernelMetric[];
}

const SCOPE = { name: 'kotel.kernel' };
/** the cgroup attributes of a metric with perCgroup: false (one object: unchanged series keep their attributes) */
const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** an object's map infos and the offsets of the shared key and histogram layouts: fixed once it is loaded,
 * so looked up once instead of at every collection */
interface ObjectShapes {
  mapInfo(map: string): MapInfo;
  key(): { cgOff: number; kindOff: number; chunkOff: number };
  hist(): { slotsOff: number; sumOff: number };
}

const shapeCache = new WeakMap<BpfObject, ObjectShapes>();

function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

function shapesOf(object: BpfObject): ObjectShapes {
  let shapes = shapeCache.get(object);
  if (!shapes) {
    const infos = new Map<string, MapInfo>();
    shapes = {
      mapInfo: (map) => infos.get(map) ?? infos.set(map, object.mapInfo(map)).get(map)!,
      key: once(() => {
        const k = object.layout('kotel_cg_key');
        return { cgOff: k.fields.cgroup_id.offset, kindOff: k.fields.kind.offset, chunkOff: k.fields.chunk.offset };
      }),
      hist: once(() => {
        const h = object.layout('kotel_hist');
        const slots = (h.size - h.fields.slots.offset) / 8;
        if (slots !== CHUNK_SLOTS)
          throw new Error(`${object.path}: ${slots} slots per histogram entry, ${CHUNK_SLOTS} expected: rebuild with npm run build`);
        return { slotsOff: h.fields.slots.offset, sumOff: h.fields.sum_ns.offset };
      }),
    };
    shapeCache.set(object, shapes);
  }
  return shapes;
}

type Cumulative = number | KernelSlots;

/** a kernel map entry starts over when it is deleted and made again (cgroup sweep, a full map's eviction):
 * any part of its cumulative value going down */
function isReset(now: Cumulative, before: Cumulative): boolean {
  return typeof now === 'number' ? now < (before as number) : slotsReset(now, before as KernelSlots);
}

/** how a producer exports the kernel histograms: the kernel's scale, and exponential or classic buckets */
export interface HistogramForm {
  layout: ScaleLayout;
  aggregation: HistogramAggregation;
}

interface Series {
  value: Cumulative;
  /** the collection that read it */
  time: HrTime;
  /** since when the cumulative value counts */
  start: HrTime;
  /** a histogram's chunks as read (views of that collection's batch): the same chunks, the same value */
  chunks?: SlotChunk[];
  /** the cgroup's attributes it was made with (the resolver's cached object), and the point's */
  cgroupAttributes: Attributes;
  attributes: Attributes;
  /** the exported form of a cumulative histogram value, kept while the value stays the same */
  exported?: Histogram | ExponentialHistogram;
}

/** one (cgroup, kind) series of a map as read: a counter's value, or a histogram's chunks */
interface SeriesRead {
  seriesKey: string;
  cgroupId: number;
  kind: number;
  counter: number;
  chunks?: SlotChunk[];
}

function sameChunks(a: SlotChunk[], b: SlotChunk[]): boolean {
  if (a.length !== b.length) return false;
  for (let c = 0; c < a.length; c++) {
    const x = a[c].words;
    const y = b[c].words;
    if (a[c].chunk !== b[c].chunk || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** every series of a counter map: one entry each */
function readCounters(object: BpfObject, map: string, keySize: number, cgOff: number, kindOff: number): SeriesRead[] {
  const batch = object.readMapSummed(map);
  const out: SeriesRead[] = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const cgroupId = readU64(batch.keys, i * keySize + cgOff);
    const kind = batch.keys.readUInt32LE(i * keySize + kindOff);
    out[i] = { seriesKey: `${cgroupId}|${kind}`, cgroupId, kind, counter: readU64(batch.values, i * batch.valueStride) };
  }
  return out;
}

/** every series of a histogram map, each with its chunks' entries (bpf/kotel.h): their nonzero words only */
function readHistograms(
  object: BpfObject,
  map: string,
  keySize: number,
  key: { cgOff: number; kindOff: number; chunkOff: number },
): SeriesRead[] {
  const batch = object.readMapNonzero(map);
  const all = u32Words(batch.words);
  const series = new Map<string, SeriesRead>();
  for (let i = 0, at = 0; i < batch.count; i++) {
    const base = i * keySize;
    const cgroupId = readU64(batch.keys, base + key.cgOff);
    const kind = batch.keys.readUInt32LE(base + key.kindOff);
    const words = all.subarray(at, at + 1 + 3 * all[at]);
    at += words.length;
    const seriesKey = `${cgroupId}|${kind}`;
    const chunk = { chunk: batch.keys.readUInt32LE(base + key.chunkOff), words };
    const s = series.get(seriesKey);
    if (s) s.chunks!.push(chunk);
    else series.set(seriesKey, { seriesKey, cgroupId, kind, counter: 0, chunks: [chunk] });
  }
  return [...series.values()];
}

export class KernelMetricProducer implements MetricProducer {
  /** per family and map, the series read at the last collection (series gone from the map are dropped) */
  private readonly previous = new Map<string, Map<string, Series>>();
  private lastCollection?: HrTime;
  private readonly classic = new Map<string, ClassicBuckets>();

  constructor(
    private readonly sources: () => KernelMetricSource[],
    private readonly cgroups: CgroupResolver,
    private readonly temporality: AggregationTemporality,
    private readonly startTime: HrTime,
    private readonly histograms: HistogramForm,
  ) {}

  private classicOf(spec: KernelHistogram): ClassicBuckets {
    let c = this.classic.get(spec.metric.name);
    if (!c) this.classic.set(spec.metric.name, (c = classicBuckets(spec.classic, this.histograms.layout)));
    return c;
  }

  private histogramValue(spec: KernelHistogram, h: KernelSlots): Histogram | ExponentialHistogram {
    return this.histograms.aggregation === 'exponential' ? toExponential(h, this.histograms.layout) : toExplicit(h, this.classicOf(spec));
  }

  async collect(): Promise<CollectionResult> {
    const metrics: MetricData[] = [];
    const errors: unknown[] = [];
    const now = hrTime();
    for (const source of this.sources()) {
      for (const spec of source.metrics) {
        try {
          // a map with no entries is no metric (as the Collector has it: an empty family is not served)
          const metric = this.read(source, spec, now);
          if (metric.dataPoints.length) metrics.push(metric);
        } catch (err) {
          errors.push(err);
        }
      }
    }
    this.lastCollection = now;
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: SCOPE, metrics }] }, errors };
  }

  private read(source: KernelMetricSource, spec: KernelMetric, now: HrTime): MetricData {
    const { object } = source;
    const shapes = shapesOf(object);
    const info = shapes.mapInfo(spec.map);
    const key = shapes.key();
    const descriptor = {
      name: spec.metric.name,
      description: spec.metric.description,
      unit: spec.metric.unit,
      valueType: spec.type === 'histogram' ? ValueType.DOUBLE : ValueType.INT,
    };
    const delta = this.temporality === AggregationTemporality.DELTA;
    // one metric may come from several families' maps (rdma.qp.transitions: libibverbs and ib_core)
    const seriesOf = `${source.family}/${spec.map}`;
    let known = this.previous.get(seriesOf);
    if (!known) this.previous.set(seriesOf, (known = new Map<string, Series>()));
    let found = 0;

    const points: DataPoint<number | Histogram | ExponentialHistogram>[] = [];
    const histLayout = spec.type === 'histogram' ? shapes.hist() : undefined;
    const read = histLayout
      ? readHistograms(object, spec.map, info.keySize, key)
      : readCounters(object, spec.map, info.keySize, key.cgOff, key.kindOff);
    const slotsWord = histLayout ? histLayout.slotsOff / 8 : 0;
    const sumWord = histLayout ? histLayout.sumOff / 8 : 0;

    for (const { seriesKey, cgroupId, kind, counter, chunks } of read) {
      const prev = known.get(seriesKey);
      let value: Cumulative | undefined = counter;
      if (chunks) value = prev?.chunks && sameChunks(prev.chunks, chunks) ? prev.value : chunkSlots(chunks, slotsWord, sumWord);
      if (value === undefined) continue;
      const cgroupAttributes = spec.perCgroup === false ? NO_ATTRIBUTES : this.cgroups.attributes(cgroupId);
      const attributes =
        prev?.cgroupAttributes === cgroupAttributes ? prev.attributes : { ...cgroupAttributes, ...spec.kindAttributes?.(kind) };
      const unchanged = prev?.value === value;
      // the same series as last time, not one that started over since
      const same = prev && (unchanged || !isReset(value, prev.value)) ? prev : undefined;
      // every kernel map starts empty when its object is loaded: a series counts from then, or, if it
      // appeared or started over later, from the collection before (it held nothing of it then)
      const start = same ? same.start : (prev?.time ?? this.lastCollection ?? this.startTime);
      const diff =
        !delta || !same
          ? value
          : typeof value === 'number'
            ? value - (same.value as number)
            : subtractSlots(value, same.value as KernelSlots);
      let exported: number | Histogram | ExponentialHistogram;
      if (typeof diff === 'number') exported = diff;
      else if (!delta && unchanged && prev.exported) exported = prev.exported;
      else exported = this.histogramValue(spec as KernelHistogram, diff);
      points.push({ startTime: delta && prev ? prev.time : start, endTime: now, attributes, value: exported });
      // the series kept for the next collection: last time's object updated (10k series: no new objects)
      const kept = !delta && typeof exported !== 'number' ? exported : undefined;
      if (prev) {
        prev.value = value;
        prev.time = now;
        prev.start = start;
        prev.chunks = chunks;
        prev.cgroupAttributes = cgroupAttributes;
        prev.attributes = attributes;
        prev.exported = kept;
      } else known.set(seriesKey, { value, time: now, start, chunks, cgroupAttributes, attributes, exported: kept });
      found++;
    }
    // series gone from the map (a cgroup swept, an entry evicted): not read at this collection (`now`)
    if (known.size > found) for (const [k, s] of known) if (s.time !== now) known.delete(k);

    if (spec.type === 'histogram' && this.histograms.aggregation === 'exponential') {
      return {
        descriptor,
        aggregationTemporality: this.temporality,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
        dataPoints: points as DataPoint<ExponentialHistogram>[],
      };
    }
    if (spec.type === 'histogram') {
      return {
        descriptor,
        aggregationTemporality: this.temporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: points as DataPoint<Histogram>[],
      };
    }
    return {
      descriptor,
      aggregationTemporality: this.temporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points as DataPoint<number>[],
    };
  }
}
