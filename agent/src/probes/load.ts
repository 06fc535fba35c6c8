// Opens each enabled family's BPF object (the addon picks a hook per probe by trying), checks that every
// map the family reads has the shape it expects, and reports what attached and what could not.
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { KotelConfig } from '../config';
import { BpfObject, type AttachReport, type OpenOptions } from '../native';
import { scaleLayout } from '../kernel/exponentialBuckets';
import { needsPreallocatedHashMaps } from '../host/kernelRelease';
import { defaultBpfObjectDir } from '../paths';
import type { Family, MapShape } from './types';

export interface LoadedFamily {
  family: Family;
  object: BpfObject;
  attachments: AttachReport[];
}

export interface FamilyFailure {
  family: Family;
  reason: string;
  /** error.type of kotel.probe.attached: the pre-check's code (module_not_loaded, ...) or load_failed */
  code: string;
  /** refused by its pre-check (not tried): may load later, when its modules appear */
  precheck: boolean;
  /** the pre-check found what it hooks is not on this host (Unavailable.absent) */
  absent?: boolean;
}

export interface LoadResult {
  loaded: LoadedFamily[];
  failed: FamilyFailure[];
  disabled: Family[];
}

export function objectPath(config: KotelConfig, family: Family): string {
  return path.join(config.bpf.objectDir || defaultBpfObjectDir, `${family.name}.bpf.o`);
}

function expectedSize(object: BpfObject, shape: string | number): number {
  return typeof shape === 'number' ? shape : object.layout(shape).size;
}

/** the family's own options, plus the histogram scale's rodata knobs and, for its histogram maps, room for
 * the entries of each series' chunks (bpf/kotel.h) when it has histograms */
export function familyOpenOptions(config: KotelConfig, family: Family): OpenOptions {
  const options = family.openOptions(config);
  const histograms = family.kernelMetrics.filter((m) => m.type === 'histogram').map((m) => m.map);
  if (histograms.length === 0) return options;
  const layout = scaleLayout(config.metrics.histogramScale);
  const maxEntries = { ...options.maxEntries };
  for (const m of histograms) if (maxEntries[m] !== undefined) maxEntries[m] *= layout.entriesPerSeries;
  return { ...options, rodata: { ...options.rodata, ...layout.knobs }, maxEntries };
}

/** every map a family reads: its kernel-metric maps (their shape follows from the metric type) and `maps` */
function expectedMaps(family: Family): Record<string, MapShape> {
  const shapes: Record<string, MapShape> = {};
  for (const m of family.kernelMetrics) shapes[m.map] = { key: 'kotel_cg_key', value: m.type === 'histogram' ? 'kotel_hist' : 8 };
  return { ...shapes, ...family.maps };
}

/** throws an Error naming the map when the object lacks a map or its key/value sizes differ */
export function checkMaps(family: Family, object: BpfObject): void {
  const names = new Set(object.mapNames());
  for (const [map, shape] of Object.entries(expectedMaps(family))) {
    if (!names.has(map)) throw new Error(`BPF object ${object.path} has no map ${map}: rebuild with npm run build`);
    const info = object.mapInfo(map);
    for (const part of ['key', 'value'] as const) {
      const want = shape[part];
      if (want === undefined) continue;
      const size = expectedSize(object, want);
      const have = part === 'key' ? info.keySize : info.valueSize;
      if (have !== size) {
        throw new Error(
          `BPF map ${map} in ${object.path} has ${part} size ${have}, expected ${size} (${want}): rebuild with npm run build`,
        );
      }
    }
  }
  if (!names.has(family.dropsMap)) throw new Error(`BPF object ${object.path} has no drop counter map ${family.dropsMap}`);
}

export function loadFamilies(config: KotelConfig, families: Family[], logger: Logger): LoadResult {
  const result: LoadResult = { loaded: [], failed: [], disabled: [] };
  for (const family of families) {
    if (!family.enabled(config)) {
      result.disabled.push(family);
      continue;
    }
    const absent = family.unavailable?.(config);
    if (absent) {
      logger.warn(`family ${family.name} unavailable: ${absent.reason}`);
      result.failed.push({ family, ...absent, precheck: true });
      continue;
    }
    let object: BpfObject | undefined;
    try {
      object = BpfObject.open(objectPath(config, family), {
        ...familyOpenOptions(config, family),
        preallocateHashMaps: needsPreallocatedHashMaps(),
      });
      checkMaps(family, object);
    } catch (err) {
      object?.close();
      const reason = err instanceof Error ? err.message : String(err);
      logger.error(`family ${family.name} unavailable: ${reason}`);
      result.failed.push({ family, reason, code: 'load_failed', precheck: false });
      continue;
    }
    for (const a of object.attachments) {
      if (a.attached) logger.info(`${family.name}/${a.probe}: attached ${a.kind} ${a.program}`);
      else logger.warn(`${family.name}/${a.probe}: not attached: ${a.failures.map((f) => `${f.kind}: ${f.reason}`).join('; ')}`);
    }
    result.loaded.push({ family, object, attachments: object.attachments });
  }
  return result;
}
