export type { ConfiguredFamily, HistogramAggregation, KotelConfig, LogLevel, OtlpProtocol, TemporalityPreference } from './schema';
export { SCHEMA, FAMILIES, LOG_LEVELS, OTLP_PROTOCOLS, TEMPORALITIES, envNameFor, parseKeyValueList, schemaKeys } from './schema';
export { loadConfig, ConfigError, redactSecrets, OTEL_ENV_MAP, FLAG_NAMES } from './load';
export type { LoadConfigOptions } from './load';
export { configDocTable } from './docTable';
