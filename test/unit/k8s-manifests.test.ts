// The Kubernetes manifests (deploy/kubernetes/): every object against the API schema of its kind for one
// pinned Kubernetes release (test/helpers/k8sSchemas.ts), and what a user relies on when applying them:
// hostPID and read-only host mounts, probes on kotel's health endpoints and Prometheus port, kotel's config
// as kotel loads it, the node name on the resource, OTLP to the gateway's Service, and a gateway that
// attributes by the pod UID kotel sends, with a Collector config of components and keys of the version its
// image pins (test/fixtures/collector/<version>.json, as collector-config.test.ts checks Compose's).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as YAML from 'yaml';
import { loadConfig } from '../../agent/src/config';
import { specFor } from '../../agent/src/config/schema';
import { CGROUP_ATTR } from '../../agent/src/host/cgroups';
import { createResource } from '../../agent/src/otel/resource';
import { UNIT_TEMPLATE, unitCapabilities } from '../helpers/systemdUnit';
import { checkCollectorConfig, collectorFixture, typeOf, type CollectorFixture } from '../helpers/collectorConfig';
import { imageTag } from '../helpers/deploy';
import { KUBERNETES_VERSION, kubernetesValidators, validateObject, type Validate } from '../helpers/k8sSchemas';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIR = path.join(ROOT, 'deploy', 'kubernetes');
/** the health endpoint's paths (issue #14: on the Prometheus listener) */
const HEALTHZ = '/healthz';
const READYZ = '/readyz';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects: Array<{ file: string; doc: Obj }> = files.flatMap((file) =>
  YAML.parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return { file, doc: d.toJS() as Obj };
  }),
);
const one = (kind: string, name: string): Obj => {
  const found = objects.filter((o) => o.doc.kind === kind && o.doc.metadata?.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name} in deploy/kubernetes`);
  return found[0].doc;
};
const daemonSet = one('DaemonSet', 'kotel');
const agentPod = daemonSet.spec.template.spec;
const agent = agentPod.containers.find((c: Obj) => c.name === 'kotel');
const gateway = one('Deployment', 'kotel-collector');
const gatewayContainer = gateway.spec.template.spec.containers[0];
const service = one('Service', 'kotel-collector');
const collectorConfig = YAML.parse(one('ConfigMap', 'kotel-collector-config').data['config.yaml']) as Obj;
/** what the gateway's image has: the fixture of the Collector version it pins */
const gatewayFixture = (): CollectorFixture => collectorFixture(imageTag(gatewayContainer.image).tag ?? 'latest');
const CONTRIB = 'github.com/open-telemetry/opentelemetry-collector-contrib';
/** the one processor of the gateway's config whose type is that of `module` in the pinned version */
function processorOf(config: Obj, module: string): string {
  const type = gatewayFixture().types[`${CONTRIB}/processor/${module}`].type;
  const ids = Object.keys(config.processors).filter((id) => typeOf(id) === type);
  assert.equal(ids.length, 1, `one ${type} processor (${Object.keys(config.processors).join(', ')})`);
  return ids[0];
}

/** a container port by name or number, as a probe or a Service's targetPort names it */
function containerPort(container: Obj, port: string | number): number {
  if (typeof port === 'number') return port;
  const p = container.ports?.find((x: Obj) => x.name === port);
  assert.ok(p, `container ${container.name} has a port named ${port}`);
  return p.containerPort;
}

/** the container's environment as the kubelet makes it: downward-API fields from `fields`, $(VAR) expanded */
function containerEnv(container: Obj, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.valueFrom) env[e.name] = fields[e.valueFrom.fieldRef.fieldPath];
    else env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m);
  }
  return env;
}

/** kotel's config from its ConfigMap, loaded by kotel's own loader with the DaemonSet's environment */
function agentConfig(fields: Record<string, string> = { 'spec.nodeName': 'node-7' }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-k8s-'));
  const file = path.join(dir, path.basename(agent.args[agent.args.indexOf('--config') + 1]));
  fs.writeFileSync(file, one('ConfigMap', 'kotel-config').data[path.basename(file)]);
  try {
    return loadConfig({ file, env: containerEnv(agent, fields) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe(`Kubernetes manifests against the Kubernetes ${KUBERNETES_VERSION} API schemas`, () => {
  let validators: Map<string, Validate>;
  before(() => {
    validators = kubernetesValidators();
  });

  test('every object in deploy/kubernetes is valid for its kind, with no field the API does not define', () => {
    assert.ok(objects.length >= 10, `${objects.length} objects`);
    const problems = objects.flatMap(({ file, doc }) =>
      validateObject(validators, doc).map((p) => `${file}: ${doc.kind} ${doc.metadata?.name}: ${p}`),
    );
    assert.deepEqual(problems, []);
    for (const kind of ['DaemonSet', 'Deployment', 'Service', 'ConfigMap', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'])
      assert.ok(
        objects.some((o) => o.doc.kind === kind),
        `a ${kind}`,
      );
  });

  test('the schemas refuse a misspelt field, a wrong type, a missing required field and an unknown kind', () => {
    const mutated = (edit: (ds: Obj) => void): string[] => {
      const copy = structuredClone(daemonSet);
      edit(copy);
      return validateObject(validators, copy);
    };
    assert.match(
      mutated((ds) => (ds.spec.template.spec.hostPid = true)).join('\n'),
      /\/spec\/template\/spec must NOT have additional properties.*hostPid/,
    );
    assert.match(
      mutated((ds) => (ds.spec.template.spec.containers[0].ports[0].containerPort = '9464')).join('\n'),
      /containerPort must be number/,
    );
    assert.match(mutated((ds) => delete ds.spec.template.spec.containers[0].name).join('\n'), /must have required property 'name'/);
    assert.match(mutated((ds) => delete ds.spec.selector).join('\n'), /must have required property 'selector'/);
    assert.match(
      validateObject(validators, { ...daemonSet, apiVersion: 'extensions/v1beta1' }).join(),
      /no schema for apiVersion extensions\/v1beta1, kind DaemonSet/,
    );
  });
});

test('kustomization.yaml lists every manifest file', () => {
  const k = YAML.parse(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as Obj;
  assert.equal(k.kind, 'Kustomization');
  assert.deepEqual([...k.resources].sort(), [...files].sort());
});

test('the agent: one per node, in the host PID namespace, host directories mounted read-only, BPF capabilities', () => {
  assert.equal(daemonSet.kind, 'DaemonSet');
  assert.equal(agentPod.hostPID, true);
  assert.deepEqual(agentPod.tolerations, [{ operator: 'Exists' }], 'runs on tainted nodes too');
  const hostPaths = new Map<string, string>(agentPod.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]));
  for (const p of ['/sys/kernel/btf', '/sys/fs/cgroup', '/sys/kernel/tracing'])
    assert.ok([...hostPaths.values()].includes(p), `mounts ${p}`);
  for (const m of agent.volumeMounts) assert.equal(m.readOnly, true, `${m.mountPath} read-only`);
  for (const [name, hostPath] of hostPaths) {
    const m = agent.volumeMounts.find((x: Obj) => x.name === name);
    assert.equal(m?.mountPath, hostPath, `${hostPath} where kotel reads it`);
  }
  const sc = agent.securityContext;
  assert.notEqual(sc.privileged, true);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  // the systemd unit's capabilities, each measured there by taking it away
  assert.deepEqual(
    [...sc.capabilities.add].sort(),
    unitCapabilities(UNIT_TEMPLATE)
      .map((c) => c.toUpperCase())
      .sort(),
    "the unit's capabilities",
  );
  assert.ok(agent.resources.requests && agent.resources.limits?.memory, 'resource requests and a memory limit');
});

test("kotel's ConfigMap config loads with kotel's loader; the probes hit its health endpoints on its Prometheus port", () => {
  const config = agentConfig();
  assert.equal(config.prometheus.enabled, true, 'the health endpoint lives on the Prometheus listener');
  assert.notEqual(config.prometheus.host, '127.0.0.1', 'the kubelet probes the pod IP, not loopback');
  assert.equal(config.prometheus.port, specFor('prometheus.port')!.default, "the schema's default port");
  assert.equal(agent.livenessProbe.httpGet.path, HEALTHZ);
  assert.equal(agent.startupProbe.httpGet.path, HEALTHZ);
  assert.equal(agent.readinessProbe.httpGet.path, READYZ);
  for (const probe of [agent.livenessProbe, agent.readinessProbe, agent.startupProbe])
    assert.equal(containerPort(agent, probe.httpGet.port), config.prometheus.port, 'probe port = prometheus.port');
  assert.equal(
    agent.image,
    `kotel:${(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`,
    "the image of this kotel's version",
  );
});

test('the node name from the downward API reaches the resource as k8s.node.name (and host.name), nothing of the agent pod', () => {
  const attrs = createResource(agentConfig({ 'spec.nodeName': 'node-7' })).attributes;
  assert.equal(attrs['k8s.node.name'], 'node-7');
  assert.equal(attrs['host.name'], 'node-7');
  for (const k of Object.keys(attrs))
    assert.ok(!k.startsWith('k8s.pod.') && !k.startsWith('container.'), `${k} would be copied to every pod's resource`);
});

test("kotel's OTLP endpoint is the gateway Service's gRPC port, which reaches the Collector's OTLP receiver", () => {
  const config = agentConfig();
  assert.equal(config.otlp.protocol, 'grpc');
  const url = new URL(config.otlp.endpoint);
  assert.equal(url.hostname, `${service.metadata.name}.${service.metadata.namespace}.svc`);
  const port = service.spec.ports.find((p: Obj) => p.port === Number(url.port));
  assert.ok(port, `the Service has port ${url.port}`);
  for (const [k, v] of Object.entries(service.spec.selector))
    assert.equal(gateway.spec.template.metadata.labels[k], v, `the Service selects the gateway (${k})`);
  const target = containerPort(gatewayContainer, port.targetPort);
  assert.equal(collectorConfig.receivers.otlp.protocols.grpc.endpoint, `0.0.0.0:${target}`);
});

test("the gateway's Collector config has only components and keys of the Collector version its image pins", () => {
  const fx = gatewayFixture();
  assert.equal(fx.image, gatewayContainer.image);
  assert.deepEqual(checkCollectorConfig(collectorConfig, fx), []);
});

test("the check names a misspelt k8s_attributes key, a wrong shape and the processor's deprecated name", () => {
  const config = structuredClone(collectorConfig);
  const k8s = config.processors[processorOf(config, 'k8sattributesprocessor')];
  k8s.pod_association[0].sources[0].nmae = CGROUP_ATTR.podUid;
  k8s.extract.metdata = k8s.extract.metadata;
  k8s.exclude = { pods: { name: 'jaeger-agent' } };
  config.processors.k8sattributes = {};
  assert.deepEqual(checkCollectorConfig(config, gatewayFixture()), [
    'processors.k8s_attributes.pod_association[0].sources[0].nmae: unknown key (from, name)',
    'processors.k8s_attributes.extract.metdata: unknown key (metadata, annotations, labels, otel_annotations, deployment_name_from_replicaset)',
    'processors.k8s_attributes.exclude.pods: a list is expected here',
    `processors.k8sattributes: "k8sattributes" is the deprecated name of k8s_attributes in ${gatewayFixture().version}`,
  ]);
});

test('the gateway attributes metrics and spans by the k8s.pod.uid kotel sends, and may read what that needs', () => {
  const processors = collectorConfig.processors;
  const groupByAttrs = processorOf(collectorConfig, 'groupbyattrsprocessor');
  const k8sAttributes = processorOf(collectorConfig, 'k8sattributesprocessor');
  // the pipelines that carry kotel's data: those of the OTLP receiver the Service's gRPC port reaches
  const kotels = Object.entries(collectorConfig.service.pipelines as Record<string, Obj>).filter(([, p]) => p.receivers.includes('otlp'));
  assert.deepEqual(kotels.map(([id]) => typeOf(id)).sort(), ['metrics', 'traces']);
  for (const [id, pipeline] of kotels) {
    const at = (name: string) => pipeline.processors.indexOf(name);
    assert.ok(at(k8sAttributes) >= 0, `${id}: ${k8sAttributes}`);
    assert.ok(at(groupByAttrs) >= 0 && at(groupByAttrs) < at(k8sAttributes), `${id}: pod UIDs moved to resources first`);
  }
  assert.deepEqual(processors[groupByAttrs].keys, [CGROUP_ATTR.podUid, CGROUP_ATTR.containerId]);
  assert.deepEqual(processors[k8sAttributes].pod_association, [{ sources: [{ from: 'resource_attribute', name: CGROUP_ATTR.podUid }] }]);
  for (const a of ['k8s.pod.name', 'k8s.namespace.name', 'k8s.deployment.name', 'k8s.node.name'])
    assert.ok(processors[k8sAttributes].extract.metadata.includes(a), `extracts ${a}`);
  const role = one('ClusterRole', 'kotel-collector');
  const may = (group: string, resource: string) =>
    role.rules.some(
      (r: Obj) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) && ['get', 'list', 'watch'].every((v) => r.verbs.includes(v)),
    );
  for (const [group, resource] of [
    ['', 'pods'],
    ['', 'namespaces'],
    ['apps', 'replicasets'],
  ])
    assert.ok(may(group, resource), `may get/list/watch ${resource}`);
  const binding = one('ClusterRoleBinding', 'kotel-collector');
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', name: gateway.spec.template.spec.serviceAccountName, namespace: gateway.metadata.namespace },
  ]);
});

test("the Collector's image is pinned, to docker-compose.yml's release", () => {
  const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as Obj;
  assert.match(gatewayContainer.image, /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
  assert.equal(gatewayContainer.image, compose.services['otel-collector'].image);
});
