/**
 * Loads the configuration in layers, lowest first:
 *   schema defaults < config file (--config, YAML or JSON by extension) < standard OTEL_* variables
 *   < KOTEL_* variables < command-line flags,
 * and validates it strictly. Every problem is a ConfigError with a one-line message naming the key, the
 * value, what is allowed and where the value came from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import convict from 'convict';
import * as YAML from 'yaml';
import { coerceValue, errnoText, oneOf, problemOf, registerFormats } from './formats';
import { FAMILIES, KotelConfig, SCHEMA, SchemaNode, isKeySpec, parseKeyValueList, redactKeyValueList, schemaKeys, specFor } from './schema';

/** A bad configuration: message is one line, fit to print as is. */
export class ConfigError extends Error {
  readonly kotelUserError = true;
  constructor(
    message: string,
    /** the key at fault, when there is one */
    readonly key?: string,
    /** where its value came from: 'default', a file path, an environment variable or a flag */
    readonly source?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** config file, YAML (.yaml/.yml) or JSON (.json) */
  file?: string;
  /** values from the command line, by config key (e.g. {'otlp.endpoint': 'host:4317'}) */
  flags?: Record<string, unknown>;
  /** the environment; process.env when absent */
  env?: NodeJS.ProcessEnv;
}

/** Flag names by key (the schema's flags, and --families), to say where a value came from. */
export const FLAG_NAMES: Record<string, string> = {
  ...Object.fromEntries(schemaKeys().flatMap(([k, spec]) => (spec.flag ? [[k, spec.flag.name.split(' ')[0]]] : []))),
  ...Object.fromEntries(FAMILIES.map((f) => [`families.${f}.enabled`, '--families'])),
};

/** Standard OpenTelemetry variables honoured (the schema's otelEnv), and the key each sets. */
export const OTEL_ENV_MAP: ReadonlyArray<{ env: string; key: string; map?: (v: string) => unknown }> = schemaKeys().flatMap(
  ([key, spec]) => (spec.otelEnv ? [{ env: spec.otelEnv.name, key, map: spec.otelEnv.map }] : []),
);

/** The schema in convict's shape (our formats are registered as kotel-<name>). */
function convictSchema(node: SchemaNode = SCHEMA): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (isKeySpec(v)) {
      out[k] = {
        doc: v.doc,
        format: Array.isArray(v.format) ? oneOf(v.format) : `kotel-${v.format}`,
        default: v.default,
        env: v.env,
        min: v.min,
        max: v.max,
        sensitive: v.secret === true,
      };
    } else {
      out[k] = convictSchema(v);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

function fmtValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function levenshtein(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const [k] of schemaKeys()) {
    const d = levenshtein(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function unknownKeyError(key: string, where: string): ConfigError {
  const near = closestKey(key);
  return new ConfigError(
    `config error: unknown key "${key}" ${where}: not in the schema` +
      (near ? ` (did you mean "${near}"?)` : '') +
      ' (see kotel check-config --help / README configuration table)',
    key,
  );
}

/** Flattens a parsed file into key → value, rejecting keys not in the schema. */
function flattenFile(obj: unknown, file: string, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj === null || obj === undefined) return out;
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(
      `config error: ${prefix || 'the top level'} in ${file} must be a mapping of keys, not ${fmtValue(obj)}`,
      prefix || undefined,
      file,
    );
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (specFor(key)) {
      out[key] = v;
      continue;
    }
    const isSection = schemaKeys().some(([sk]) => sk.startsWith(key + '.'));
    if (!isSection) throw unknownKeyError(key, `in ${file}`);
    flattenFile(v, file, key, out);
  }
  return out;
}

/** V8's JSON.parse message without the excerpt of the file it quotes (it may span lines, or hold a
 * secret), and with the line and column of "at position N" */
function jsonSyntaxError(text: string, err: Error): string {
  let msg = err.message.replace(/,\s*(\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON$/, ' (not valid JSON)');
  msg = msg.replace(/ at position (\d+)(?: \(line \d+ column \d+\))?/, (_, pos: string) => {
    const before = text.slice(0, Number(pos)).split('\n');
    return ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  });
  return msg.split('\n')[0];
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config error: cannot read config file ${file}: ${errnoText(e as NodeJS.ErrnoException)}`, undefined, file);
  }
  const ext = path.extname(file).toLowerCase();
  let parsed: unknown;
  try {
    if (ext === '.json') parsed = JSON.parse(text);
    else if (ext === '.yaml' || ext === '.yml') parsed = YAML.parse(text, { prettyErrors: true });
    else throw new Error(`unknown extension "${ext}" (use .yaml, .yml or .json)`);
  } catch (e) {
    const msg =
      ext === '.json'
        ? jsonSyntaxError(text, e as Error)
        : String((e as Error).message)
            .split('\n')[0]
            .replace(/:\s*$/, '');
    throw new ConfigError(`config error: cannot parse config file ${file}: ${msg}`, undefined, file);
  }
  return flattenFile(parsed, file);
}

function setNested(obj: Record<string, unknown>, key: string, v: unknown): void {
  const parts = key.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1]] = v;
}

/** a copy of config for printing: the values of secret keys (otlp.headers) as *** */
export function redactSecrets(config: KotelConfig): KotelConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const [k, spec] of schemaKeys()) {
    if (!spec.secret) continue;
    const parts = k.split('.');
    const parent = parts.slice(0, -1).reduce((o, p) => o[p] as Record<string, unknown>, copy);
    parent[parts.at(-1)!] = redactKeyValueList(String(parent[parts.at(-1)!]));
  }
  return copy as unknown as KotelConfig;
}

/** convict's validation; its first problem as a ConfigError naming the key, the value and its source. */
function validate(conf: convict.Config<Record<string, unknown>>, source: Map<string, string>): void {
  try {
    conf.validate({ allowed: 'strict' });
  } catch (e) {
    // convict's line: "<key>: <problem>[: value was <JSON>]", or "configuration param '<key>' missing
    // from config" when a mapping stands where the key's value belongs
    const line = (e as Error).message.split('\n')[0];
    const missing = /^configuration param '([^']+)' missing/.exec(line);
    const key = missing ? missing[1] : line.slice(0, line.indexOf(': '));
    const spec = specFor(key);
    if (!spec) throw new ConfigError(`config error: ${line}`);
    const v = conf.get(key);
    const problem = missing
      ? (problemOf(spec, v) ?? 'must be a single value')
      : line.slice(key.length + 2).replace(`: value was ${JSON.stringify(v)}`, '');
    const src = source.get(key) ?? 'default';
    const shown = fmtValue(spec.secret ? redactKeyValueList(String(v)) : v);
    throw new ConfigError(`config error: ${key} = ${shown} (from ${src}): ${problem}`, key, src);
  }
}

/** Loads, layers and validates the configuration. Throws ConfigError. */
export function loadConfig(opts: LoadConfigOptions = {}): KotelConfig {
  registerFormats();
  const env = opts.env ?? process.env;
  const keys = schemaKeys();
  const source = new Map<string, string>(keys.map(([k]) => [k, 'default']));

  // convict imports KOTEL_* from `env` at construction and again after every load(), so KOTEL_* always
  // beats what load() brings (the file, then the OTEL_* layer). Flags are set() last.
  // `args: []` keeps convict away from process.argv (commander owns the command line).
  let conf: convict.Config<Record<string, unknown>>;
  try {
    conf = convict(convictSchema() as convict.Schema<Record<string, unknown>>, { env, args: [] });
  } catch (e) {
    throw new ConfigError(`config error: ${(e as Error).message.split('\n')[0]}`);
  }

  // 1. config file
  if (opts.file) {
    const flat = readConfigFile(opts.file);
    const nested: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(flat)) {
      nested[k] = v;
      source.set(k, opts.file);
    }
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(nested)) setNested(obj, k, coerceValue(specFor(k)!, v));
    conf.load(obj);
  }

  // 2. standard OTEL_* variables (empty means unset, as the spec says)
  const otel: Record<string, unknown> = {};
  for (const m of OTEL_ENV_MAP) {
    const raw = env[m.env];
    if (raw === undefined || raw.trim() === '') continue;
    setNested(otel, m.key, coerceValue(specFor(m.key)!, m.map ? m.map(raw) : raw));
    source.set(m.key, m.env);
  }
  if (Object.keys(otel).length) conf.load(otel);

  // 3. KOTEL_* variables (convict has applied them already; record where they came from)
  for (const [k, spec] of keys) {
    if (spec.env && env[spec.env] !== undefined) source.set(k, spec.env);
  }

  // 4. flags
  for (const [k, v] of Object.entries(opts.flags ?? {})) {
    if (v === undefined) continue;
    const spec = specFor(k);
    if (!spec) throw unknownKeyError(k, 'on the command line');
    conf.set(k, coerceValue(spec, v));
    source.set(k, FLAG_NAMES[k] ?? 'the command line');
  }

  validate(conf, source);

  const cfg = conf.getProperties() as unknown as KotelConfig;
  if ((cfg.otlp.tls.cert === '') !== (cfg.otlp.tls.key === '')) {
    const [set, unset] = cfg.otlp.tls.cert ? ['otlp.tls.cert', 'otlp.tls.key'] : ['otlp.tls.key', 'otlp.tls.cert'];
    throw new ConfigError(
      `config error: ${set} is set (from ${source.get(set)}) but ${unset} is not: a client certificate needs its private key (set both or neither)`,
      unset,
    );
  }

  // OTEL_SERVICE_NAME / service.name beats service.name inside resource.attributes (OTel spec), but an
  // explicit service.name in resource.attributes beats our default 'kotel'.
  if (source.get('service.name') === 'default') {
    const attrName = parseKeyValueList(cfg.resource.attributes)['service.name'];
    if (attrName) cfg.service.name = attrName;
  }
  return cfg;
}
