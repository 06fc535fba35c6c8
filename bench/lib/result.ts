// What every section returns: figures (median and spread over repetitions), targets, and plain notes.
import { summarize, type Summary } from './stats';

export interface Figure {
  name: string;
  unit: string;
  summary?: Summary;
  /** why there is no number */
  notMeasured?: string;
  /** the target, in words, and whether the median meets it */
  target?: string;
  met?: boolean;
  note?: string;
  /** the median of the same figure in the results file this run replaces (the "vs last run" column) */
  previous?: number;
}

export interface SectionResult {
  id: string;
  title: string;
  figures: Figure[];
  notes: string[];
  /** when it ran and at which commit (sections kept from an earlier run by a partial one show theirs) */
  ran?: string;
}

export function figure(name: string, unit: string, values: number[], extra: Partial<Figure> = {}): Figure {
  const summary = summarize(values);
  return summary ? { name, unit, summary, ...extra } : { name, unit, notMeasured: extra.notMeasured ?? 'no samples', ...extra };
}

export function notMeasured(name: string, why: string): Figure {
  return { name, unit: '', notMeasured: why };
}

/** sets target/met from a predicate on the median */
export function withTarget(f: Figure, target: string, ok: (median: number) => boolean): Figure {
  return { ...f, target, met: f.summary ? ok(f.summary.median) : undefined };
}
