/**
 * The Resource every signal carries: who is exporting (service.*), on which host (host.*, os.*) and which
 * process. Per-cgroup identity does not belong here: it rides on data-point attributes (design.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { parseKeyValueList, type KotelConfig } from '../config';

/** OTel host.arch values (semantic conventions) by Node's process.arch */
const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm32',
  ia32: 'x86',
  ppc64: 'ppc64',
  s390x: 's390x',
};

let cachedVersion: string | undefined;
/** version of the kotel package (package.json found upwards from this file: works from src and dist) */
export function kotelVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kotel' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      /* not here */
    }
    dir = path.dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

function machineId(): string | undefined {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = fs.readFileSync(f, 'utf8').trim();
      if (id) return id;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

/** The attributes detected on this host, before the configured ones are merged in. */
export function detectHostAttributes(): Attributes {
  const attrs: Attributes = {
    'service.version': kotelVersion(),
    'host.name': os.hostname(),
    'host.arch': ARCH[process.arch] ?? process.arch,
    'os.type': os.type().toLowerCase(), // 'linux'
    // like `uname -srv`
    'os.description': `${os.type()} ${os.release()} ${os.version()}`,
    'os.version': os.release(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.language': 'nodejs',
  };
  const id = machineId();
  if (id) attrs['host.id'] = id;
  return attrs;
}

/**
 * detected attributes < resource.attributes (k=v list, percent-decoded) < service.name and
 * service.instance.id (a random UUID per start).
 */
export function createResource(config: KotelConfig, instanceId: string = randomUUID()): Resource {
  const configured = parseKeyValueList(config.resource.attributes);
  return resourceFromAttributes({
    ...detectHostAttributes(),
    ...configured,
    'service.name': config.service.name,
    'service.instance.id': configured['service.instance.id'] ?? instanceId,
  });
}
