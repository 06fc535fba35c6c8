// The value formats of the schema as convict formats (kotel-<name>): coercion of strings (environment,
// flags, files) and validation, each failure a message saying what is allowed ("must be ...").
import * as fs from 'node:fs';
import convict from 'convict';
import { FormatName, KeySpec } from './spec';
import { parseKeyValueList } from './schema';

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "10s", "1m", "1h" or a bare number of `bareUnit` (ms or s) as milliseconds; undefined if it is none */
export function parseDurationMs(text: string, bareUnit: 'ms' | 's' = 'ms'): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? bareUnit] : undefined;
}

export function coerceValue(spec: KeySpec, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  switch (spec.format) {
    case 'bool':
      if (TRUE.has(s.toLowerCase())) return true;
      if (FALSE.has(s.toLowerCase())) return false;
      return v;
    case 'int':
    case 'port':
      return /^-?\d+$/.test(s) ? Number(s) : v;
    case 'ms': {
      const ms = parseDurationMs(s);
      return ms === undefined ? v : Math.round(ms);
    }
    case 'ratio':
      return /^(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : v;
    default:
      return v;
  }
}

export function errnoText(err: NodeJS.ErrnoException): string {
  return err.code === 'ENOENT'
    ? 'no such file'
    : err.code === 'EACCES'
      ? 'permission denied'
      : err.code === 'EISDIR'
        ? 'a directory, not a file'
        : err.message;
}

function isEndpoint(v: string): boolean {
  try {
    // OTLP is spoken over http:// and https:// (grpc: plaintext or TLS); host:port means http://
    const url = new URL(/^[a-z][\w+.-]*:\/\//i.test(v) ? v : `http://${v}`);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** undefined when valid, else what is allowed */
const CHECKS: Record<FormatName, (v: unknown, min: number, max?: number) => string | undefined> = {
  bool: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  int: (v, min, max) =>
    Number.isSafeInteger(v) && (v as number) >= min && (max === undefined || (v as number) <= max)
      ? undefined
      : max === undefined
        ? `must be an integer >= ${min}`
        : `must be an integer from ${min} to ${max}`,
  ms: (v, min) =>
    Number.isSafeInteger(v) && (v as number) >= min
      ? undefined
      : `must be a duration in milliseconds (or with a unit: 500ms, 10s, 1m) >= ${min}`,
  ratio: (v) => (typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'must be a number from 0 to 1 (the share kept)'),
  port: (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? undefined : 'must be a port number 0-65535'),
  string: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
  endpoint: (v) =>
    typeof v !== 'string'
      ? 'must be a string'
      : v === '' || isEndpoint(v)
        ? undefined
        : 'must be host:port or a URL like http://host:4318 (http:// or https://)',
  kvlist: (v) => {
    if (typeof v !== 'string') return 'must be a string of k=v,k2=v2';
    try {
      parseKeyValueList(v);
      return undefined;
    } catch (e) {
      return `must be k=v,k2=v2 (${(e as Error).message})`;
    }
  },
  file: (v) => {
    if (typeof v !== 'string') return 'must be a file path';
    if (v === '') return undefined;
    try {
      fs.accessSync(v, fs.constants.R_OK);
      return fs.statSync(v).isFile() ? undefined : 'must be a readable file (it is not a regular file)';
    } catch (e) {
      return `must be a readable file (${errnoText(e as NodeJS.ErrnoException)})`;
    }
  },
};

/** what is wrong with v for spec, if anything (for a mapping given where a value belongs, which convict
 * does not see as the key's value) */
export function problemOf(spec: KeySpec, v: unknown): string | undefined {
  if (!Array.isArray(spec.format)) return CHECKS[spec.format as FormatName](v, spec.min ?? 0, spec.max);
  try {
    oneOf(spec.format)(v);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** a list of allowed values as a convict format */
export function oneOf(allowed: readonly string[]): (v: unknown) => void {
  return (v) => {
    if (typeof v !== 'string' || !allowed.includes(v)) throw new Error(`must be one of ${allowed.join(', ')}`);
  };
}

let registered = false;
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  for (const name of Object.keys(CHECKS) as FormatName[]) {
    const spec = { format: name } as KeySpec;
    convict.addFormat({
      name: `kotel-${name}`,
      validate(v: unknown, schema: convict.SchemaObj) {
        const { min, max } = schema as { min?: number; max?: number };
        const problem = CHECKS[name](v, min ?? 0, max);
        if (problem) throw new Error(problem);
      },
      coerce: (v: unknown) => coerceValue(spec, v),
    });
  }
}
