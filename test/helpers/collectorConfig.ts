// Checks an OpenTelemetry Collector config against what one Collector version has (a fixture read from that
// version's sources, test/fixtures/collector/<version>.json): component types of its distribution, their
// config keys, pipelines. Returns one line per problem, as the Collector would refuse or warn at start-up.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './deploy';

/** allowed keys at one level; true: a key whose value is not checked further; a tree whose only key is
 * `[]`: a list, each item a mapping with the keys of `tree['[]']` (k8s_attributes' pod_association) */
export type KeyTree = { [key: string]: KeyTree | true };
const LIST = '[]';

export interface CollectorFixture {
  version: string;
  image: string;
  distribution: Record<string, string[]>;
  types: Record<string, { type: string; deprecatedType?: string; source: string }>;
  top: KeyTree;
  service: KeyTree;
  pipelineSignals: string[];
  pipeline: KeyTree;
  config: Record<string, Record<string, { sources: string[]; keys: KeyTree }>>;
}

export const KINDS = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'] as const;

export function collectorFixture(version: string): CollectorFixture {
  const file = path.join(ROOT, 'test', 'fixtures', 'collector', `${version}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CollectorFixture;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(value: unknown, tree: KeyTree, where: string, problems: string[]): void {
  if (value === null || value === undefined) return; // `grpc:` with no value: the defaults
  const item = tree[LIST];
  if (item !== undefined && item !== true) {
    if (!Array.isArray(value)) problems.push(`${where}: a list is expected here`);
    else value.forEach((v, i) => checkKeys(v, item, `${where}[${i}]`, problems));
    return;
  }
  if (!isObj(value)) {
    problems.push(`${where}: a mapping is expected here`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const sub = tree[k];
    if (sub === undefined) problems.push(`${where}.${k}: unknown key (${Object.keys(tree).join(', ')})`);
    else if (sub !== true) checkKeys(v, sub, `${where}.${k}`, problems);
  }
}

/** the component type of an id `type[/name]` */
export const typeOf = (id: string) => id.split('/')[0];

export function checkCollectorConfig(config: unknown, fx: CollectorFixture): string[] {
  const problems: string[] = [];
  if (!isObj(config)) return ['the config is not a mapping'];
  checkKeys(config, fx.top, 'config', problems);
  const defined = new Map<string, Set<string>>();
  for (const kind of KINDS) {
    const section = config[kind];
    defined.set(kind, new Set(isObj(section) ? Object.keys(section) : []));
    if (!isObj(section)) continue;
    const modules = new Set(fx.distribution[kind].map((m) => m.split(' ')[0]));
    for (const [id, body] of Object.entries(section)) {
      const type = typeOf(id);
      const known = Object.entries(fx.types).filter(([mod]) => modules.has(mod));
      const deprecated = known.find(([, t]) => t.deprecatedType === type);
      if (deprecated) {
        problems.push(`${kind}.${id}: "${type}" is the deprecated name of ${deprecated[1].type} in ${fx.version}`);
        continue;
      }
      if (!known.some(([, t]) => t.type === type)) {
        problems.push(`${kind}.${id}: no ${kind.slice(0, -1)} of type "${type}" in the contrib distribution ${fx.version}`);
        continue;
      }
      const keys = fx.config[kind]?.[type];
      if (!keys) problems.push(`${kind}.${id}: the fixture has no config keys for ${type}: read them from its config.go`);
      else checkKeys(body, keys.keys, `${kind}.${id}`, problems);
    }
  }
  const service = config.service;
  if (!isObj(service)) return [...problems, 'service: missing'];
  checkKeys(service, fx.service, 'service', problems);
  for (const id of (service.extensions as string[] | undefined) ?? []) {
    if (!defined.get('extensions')!.has(id)) problems.push(`service.extensions: ${id} is not defined under extensions`);
  }
  const pipelines = isObj(service.pipelines) ? service.pipelines : {};
  for (const [id, p] of Object.entries(pipelines)) {
    if (!fx.pipelineSignals.includes(typeOf(id)))
      problems.push(`service.pipelines.${id}: unknown signal (${fx.pipelineSignals.join(', ')})`);
    checkKeys(p, fx.pipeline, `service.pipelines.${id}`, problems);
    if (!isObj(p)) continue;
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      for (const c of (p[kind] as string[] | undefined) ?? []) {
        const connector = kind !== 'processors' && defined.get('connectors')!.has(c); // a connector is both
        if (!defined.get(kind)!.has(c) && !connector) problems.push(`service.pipelines.${id}.${kind}: ${c} is not defined under ${kind}`);
      }
    }
  }
  return problems;
}
