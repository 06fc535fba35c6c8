// kotel's Grafana dashboards (deploy/grafana/dashboards/) as Grafana reads them: panels, their PromQL
// targets and the template variables, with the substitutions Grafana makes before it sends a query.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './deploy';

export const DASHBOARD_DIR = path.join(ROOT, 'deploy', 'grafana', 'dashboards');

export interface DatasourceRef {
  type: string;
  uid: string;
}

export interface Target {
  refId: string;
  expr: string;
  instant?: boolean;
  format?: string;
  legendFormat?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DatasourceRef;
  targets?: Target[];
  fieldConfig?: { defaults?: { links?: Array<{ title: string; url: string }> } };
}

export interface Variable {
  name: string;
  type: string;
  datasource?: DatasourceRef;
  query: string | { query: string };
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export function loadDashboards(): Array<{ file: string; dashboard: Dashboard }> {
  return fs
    .readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, dashboard: JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) as Dashboard }));
}

export function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : v.query.query;
}

/** label_values(selector, label) or label_values(label): what a query variable asks Prometheus */
export function labelValues(query: string): { selector?: string; label: string } {
  const m = /^label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)$/.exec(query.trim());
  if (!m) throw new Error(`not a label_values() query: ${query}`);
  return { selector: m[1], label: m[2] };
}

/** Grafana's own interval variables for a query over `rangeS` seconds at `stepS` seconds, with the data
 * source's scrape interval (timeInterval) `scrapeS`: $__rate_interval = max($__interval + scrape, 4 x scrape) */
export function builtinVariables(scrapeS: number, stepS: number, rangeS: number): Record<string, string> {
  return {
    __interval: `${stepS}s`,
    __rate_interval: `${Math.max(stepS + scrapeS, 4 * scrapeS)}s`,
    __range: `${rangeS}s`,
  };
}

/** a query with $name and ${name} replaced as Grafana does; an unknown variable throws */
export function interpolate(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (!(name in values)) throw new Error(`unknown variable ${whole} in ${expr}`);
    return values[name];
  });
}

/** the metric names a PromQL expression reads (identifiers followed by a selector, a range or a comma/paren) */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:\\.|[^"\\])*"/g, '""');
  const noGroupings = noStrings.replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  const words = [...noGroupings.matchAll(/\b([a-zA-Z_:][\w:]*)\s*(?=\{|\[|\)|,|$)/g)].map((m) => m[1]);
  return [...new Set(words.filter((w) => !/^(sum|max|min|avg|count|rate|increase|topk|histogram_quantile|le)$/.test(w)))];
}
