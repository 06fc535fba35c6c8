// Layers of agent/src (npm run lint): native <- kernel <- otel, probes; host below them too. Nothing imports a
// layer above its own. config/ takes the family list and fragments from probes/registry.ts; the families refer
// back to config only for its types (a type-only cycle, gone at run time).
const layer = (name) => `^agent/src/${name}/`;
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    { name: 'native-is-the-bottom', severity: 'error', from: { path: layer('native') }, to: { path: '^agent/src/', pathNot: layer('native') } },
    {
      name: 'kernel-below-probes-and-otel',
      severity: 'error',
      from: { path: layer('kernel') },
      to: { path: '^agent/src/', pathNot: [layer('kernel'), layer('native')] },
    },
    { name: 'host-below-otel-and-probes', severity: 'error', from: { path: layer('host') }, to: { path: [layer('otel'), layer('probes'), layer('self')] } },
    { name: 'otel-below-probes', severity: 'error', from: { path: layer('otel') }, to: { path: [layer('probes'), layer('self')] } },
    {
      name: 'config-below-probes',
      severity: 'error',
      comment: 'the schema takes the families and their fragments from the registry only',
      from: { path: layer('config') },
      to: { path: [layer('probes'), layer('otel'), layer('self')], pathNot: '^agent/src/probes/registry\\.ts$' },
    },
  ],
  options: { tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' }, tsConfig: { fileName: 'tsconfig.json' } },
};
