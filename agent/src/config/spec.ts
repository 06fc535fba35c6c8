// What a schema key is, and the config type TypeScript derives from a schema object. Family fragments
// (agent/src/probes/<family>/config.ts) import this file only, so the schema can import them back.

/** Value formats, each registered with convict as `kotel-<name>` (formats.ts). */
export type FormatName = 'bool' | 'int' | 'port' | 'ms' | 'ratio' | 'string' | 'endpoint' | 'kvlist' | 'file';

export interface KeySpec {
  doc: string;
  /** a format name, or the list of allowed string values */
  format: FormatName | readonly string[];
  default: boolean | number | string;
  /** smallest allowed value for 'int' and 'ms' */
  min?: number;
  /** largest allowed value for 'int' */
  max?: number;
  /** set by the schema when missing: KOTEL_ + upper snake case of the key */
  env?: string;
  /** the standard OpenTelemetry variable that sets it too (below KOTEL_*), and how its value reads */
  otelEnv?: { name: string; map?: (v: string) => unknown };
  /** the command-line option of `kotel run` that sets it (commander syntax) and its help */
  flag?: { name: string; help: string };
  /** a k=v list whose values are secrets (tokens in OTLP headers): never printed, only the keys */
  secret?: boolean;
}

export interface SchemaNode {
  [name: string]: KeySpec | SchemaNode;
}

type ValueOf<S extends KeySpec> = S['format'] extends readonly (infer E)[]
  ? E
  : S['format'] extends 'bool'
    ? boolean
    : S['format'] extends 'int' | 'port' | 'ms' | 'ratio'
      ? number
      : string;

/** The configuration loadConfig() returns for schema S. */
export type ConfigOf<S> = { -readonly [K in keyof S]: S[K] extends KeySpec ? ValueOf<S[K]> : ConfigOf<S[K]> };

/** Keeps the literal formats of a schema fragment (for ConfigOf) while checking its shape. */
export function fragment<const S extends SchemaNode>(s: S): S {
  return s;
}
