// The deployment files (docker-compose.yml, otel-collector-config.yaml, deploy/), read as a user's tools read
// them: YAML parsed by `yaml`, bind mounts and endpoints taken apart as Compose and the Collector do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
export const COLLECTOR_CONFIG = path.join(ROOT, 'otel-collector-config.yaml');

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: string[] | Record<string, string>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  ports?: string[];
  pid?: string;
  cgroup?: string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  depends_on?: string[];
  [key: string]: unknown;
}

export interface Compose {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

export function readYaml<T = unknown>(file: string): T {
  return YAML.parse(fs.readFileSync(path.resolve(ROOT, file), 'utf8')) as T;
}

export function loadCompose(): Compose {
  return readYaml<Compose>(COMPOSE_FILE);
}

export interface BindMount {
  /** as written: a host path (absolute) or a path relative to the compose file */
  source: string;
  target: string;
  readOnly: boolean;
}

/** a service's bind mounts, short syntax (SOURCE:TARGET[:MODE]) or long syntax (type: bind) */
export function bindMounts(svc: ComposeService): BindMount[] {
  return (svc.volumes ?? []).flatMap((v): BindMount[] => {
    if (typeof v !== 'string')
      return v.type === 'bind' && v.source ? [{ source: v.source, target: v.target, readOnly: v.read_only === true }] : [];
    const [source, target, mode = 'rw'] = v.split(':');
    if (!target || !/^[./]/.test(source)) return []; // a named volume or an anonymous one
    return [{ source, target, readOnly: mode.split(',').includes('ro') }];
  });
}

/** the repo file a relative bind-mount source names (compose resolves it against the compose file's folder) */
export function repoPathOf(source: string): string | undefined {
  return source.startsWith('.') ? path.resolve(path.dirname(COMPOSE_FILE), source) : undefined;
}

/** the host path a service mounts at `target`, if any */
export function mountedAt(svc: ComposeService, target: string): BindMount | undefined {
  return bindMounts(svc).find((m) => m.target === target);
}

export function environmentOf(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (!Array.isArray(env)) return { ...env };
  return Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

export function commandOf(svc: ComposeService): string[] {
  return typeof svc.command === 'string' ? svc.command.split(/\s+/) : (svc.command ?? []);
}

/** host and port of an endpoint as the Collector, Prometheus and Grafana write them: host:port or a URL */
export function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(/^[a-z][\w+.-]*:\/\//i.test(endpoint) ? endpoint : `tcp://${endpoint}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** image name and tag of `name[:tag]` */
export function imageTag(image: string): { name: string; tag: string | undefined } {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? { name: image.slice(0, at), tag: image.slice(at + 1) } : { name: image, tag: undefined };
}

/** the compose service whose image is `name` (any tag) */
export function serviceWithImage(compose: Compose, name: string): [string, ComposeService] | undefined {
  return Object.entries(compose.services).find(([, s]) => s.image !== undefined && imageTag(s.image).name === name);
}

export const COLLECTOR_IMAGE = 'otel/opentelemetry-collector-contrib';
