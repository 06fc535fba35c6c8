import { KeySpec, schemaKeys } from './schema';
import { FLAG_NAMES, OTEL_ENV_MAP } from './load';

function formatOf(spec: KeySpec): string {
  if (Array.isArray(spec.format)) return spec.format.join(' \\| ');
  return spec.format as string;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The configuration reference as a markdown table (key, environment variables, default, description),
 * generated from the schema; the README embeds it (`node -e "console.log(require('./dist/agent/src/config').configDocTable())"`).
 */
export function configDocTable(): string {
  const rows = ['| key | env | default | description |', '|---|---|---|---|'];
  for (const [key, spec] of schemaKeys()) {
    const envs = [`\`${spec.env}\``, ...OTEL_ENV_MAP.filter((m) => m.key === key).map((m) => `\`${m.env}\``)];
    const flag = FLAG_NAMES[key] ? ` Flag: \`${FLAG_NAMES[key]}\`.` : '';
    const allowed = Array.isArray(spec.format) ? ` One of: ${formatOf(spec)}.` : ` (${formatOf(spec)})`;
    const def = spec.default === '' ? '`""`' : `\`${String(spec.default)}\``;
    rows.push(`| \`${key}\` | ${envs.join(', ')} | ${def} | ${cell(spec.doc)}${cell(allowed)}${flag} |`);
  }
  return rows.join('\n');
}
