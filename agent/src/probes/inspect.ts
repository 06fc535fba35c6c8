// `kotel probes`: loads and attaches every enabled family for real, reports each probe's hook or the
// reason it cannot attach here, and detaches again.
import type { Logger } from 'pino';
import type { KotelConfig } from '../config';
import { missingBpfPrivileges } from '../host/privileges';
import { loadFamilies } from './load';
import { families } from './registry';
import type { Family } from './types';

export interface ProbeRow {
  family: string;
  probe: string;
  /** 'attached' | 'unavailable' (cannot attach here) | 'absent' (what it hooks is not on this host: no RDMA,
   * its module not loaded; the agent loads it when the module appears) | 'disabled' (off in the config) */
  status: 'attached' | 'unavailable' | 'absent' | 'disabled';
  /** hook that attached, e.g. 'raw_tp' */
  hook?: string;
  program?: string;
  /** why not, in one line */
  reason?: string;
}

/** the family's probe names; one row named '*' when its options cannot even be built (the reason says why) */
function probeNames(f: Family, config: KotelConfig): string[] {
  try {
    return Object.keys(f.openOptions(config).ladders);
  } catch {
    return ['*'];
  }
}

export async function inspectProbes(config: KotelConfig, logger: Logger): Promise<ProbeRow[]> {
  const missing = missingBpfPrivileges();
  const rows: ProbeRow[] = [];
  if (missing) {
    for (const f of families) {
      for (const probe of probeNames(f, config)) rows.push({ family: f.name, probe, status: 'unavailable', reason: missing });
    }
    return rows;
  }
  const result = loadFamilies(config, families, logger.child({}, { level: 'silent' }));
  try {
    for (const f of result.disabled) {
      for (const probe of probeNames(f, config)) {
        rows.push({ family: f.name, probe, status: 'disabled', reason: `families.${f.name}.enabled is false` });
      }
    }
    for (const { family, reason, absent } of result.failed) {
      const status = absent ? 'absent' : 'unavailable';
      for (const probe of probeNames(family, config)) rows.push({ family: family.name, probe, status, reason });
    }
    for (const { family, attachments } of result.loaded) {
      for (const a of attachments) {
        rows.push(
          a.attached
            ? {
                family: family.name,
                probe: a.probe,
                status: 'attached',
                hook: a.kind,
                program: a.program,
                reason: a.failures.length
                  ? `preferred hooks unavailable: ${a.failures.map((f) => `${f.kind}: ${f.reason}`).join('; ')}`
                  : undefined,
              }
            : {
                family: family.name,
                probe: a.probe,
                status: 'unavailable',
                reason: a.failures.map((f) => `${f.kind}: ${f.reason}`).join('; '),
              },
        );
      }
    }
  } finally {
    for (const { object } of result.loaded) object.close();
  }
  return rows;
}

/** what `kotel probes` exits with: every probe attached but the absent ones, some unavailable, or none attached */
export type ProbesVerdict = 'attached' | 'partial' | 'none';

export function probesVerdict(rows: ProbeRow[]): ProbesVerdict {
  if (!rows.some((r) => r.status === 'attached')) return 'none';
  return rows.some((r) => r.status === 'unavailable') ? 'partial' : 'attached';
}
