// JSON schemas of Kubernetes API objects for one pinned Kubernetes release, and validators for them.
// The types come from the kubernetes-types package (generated from that release's OpenAPI spec; its version
// is the Kubernetes version, Apache-2.0); ts-json-schema-generator turns them into JSON Schema (draft-07)
// where every object refuses properties the API does not define, as `kubectl apply --validate=strict`
// does; ajv validates. apiVersion and kind, optional in the types, are matched here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';

/** the types' package version: the Kubernetes release the schemas are of */
export const KUBERNETES_VERSION: string = (
  JSON.parse(fs.readFileSync(require.resolve('kubernetes-types/package.json'), 'utf8')) as { version: string }
).version;

/** apiVersion → the kubernetes-types module, and the kinds the manifests may use from it */
const GROUPS: Record<string, { module: string; kinds: string[] }> = {
  v1: { module: 'core/v1', kinds: ['ConfigMap', 'Namespace', 'Service', 'ServiceAccount'] },
  'apps/v1': { module: 'apps/v1', kinds: ['DaemonSet', 'Deployment'] },
  'rbac.authorization.k8s.io/v1': { module: 'rbac/v1', kinds: ['ClusterRole', 'ClusterRoleBinding'] },
};

export type Validate = (doc: unknown) => string[];

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
}

/** a validator per `${apiVersion} ${kind}` (schema generation takes a few seconds: call once) */
export function kubernetesValidators(): Map<string, Validate> {
  const dir = path.dirname(require.resolve('kubernetes-types/package.json'));
  const modules = Object.values(GROUPS).map((g) => g.module);
  const generator = createGenerator({
    path: path.join(dir, `{${modules.join(',')}}.d.ts`),
    skipTypeCheck: true,
    additionalProperties: false,
    expose: 'export',
    jsDoc: 'none',
    topRef: false,
  });
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const out = new Map<string, Validate>();
  for (const [apiVersion, { kinds }] of Object.entries(GROUPS)) {
    for (const kind of kinds) {
      const validate: ValidateFunction = ajv.compile(generator.createSchema(kind));
      out.set(`${apiVersion} ${kind}`, (doc) => (validate(doc) ? [] : describe(validate.errors)));
    }
  }
  return out;
}

/** problems of one manifest object: its apiVersion/kind must be one of the known ones, its fields the API's */
export function validateObject(validators: Map<string, Validate>, doc: { apiVersion?: unknown; kind?: unknown }): string[] {
  const key = `${String(doc.apiVersion)} ${String(doc.kind)}`;
  const validate = validators.get(key);
  if (!validate) return [`no schema for apiVersion ${key.replace(' ', ', kind ')} (known: ${[...validators.keys()].join('; ')})`];
  return validate(doc);
}
