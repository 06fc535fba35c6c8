// The image as the Dockerfile builds it, without Docker (not installed here; this Debian 12 machine stands
// in for the build container, and its node 20 for the official image's): the build stage's RUN commands run
// on a copy of exactly the build context .dockerignore lets through; the runtime stage's COPY steps then lay
// out its files under a temporary root, and the image's ENTRYPOINT, CMD, ENV and HEALTHCHECK run from there.
// The runtime stage's apt packages are not installed by it (test/unit/dockerfile.test.ts checks they cover
// what the addon and the agent need).
import { strict as assert } from 'node:assert';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, startAgent } from '../helpers/agentProcess';
import { ROOT } from '../helpers/deploy';
import { trampolineOnlyMisses } from '../helpers/probesHere';
import { families } from '../../agent/src/probes/registry';
import {
  buildContext,
  copySteps,
  envOf,
  execForm,
  healthcheckCommand,
  readStages,
  runCommands,
  stageNamed,
  workdirOf,
} from '../helpers/dockerfile';

const stages = readStages();
const build = stageNamed(stages, 'build');
const runtime = stageNamed(stages, 'runtime');

describe('the image, built the way the Dockerfile says on its build context (root)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-image-'));
  const context = path.join(tmp, 'context');
  const image = path.join(tmp, 'image');
  /** a path of the runtime image, under the temporary root */
  const inImage = (p: string) => path.join(image, p);
  const imageEnv = { ...envOf(runtime) };

  before(() => {
    for (const f of buildContext()) {
      fs.mkdirSync(path.dirname(path.join(context, f)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), path.join(context, f));
    }
    for (const cmd of runCommands(build)) {
      execFileSync('sh', ['-c', cmd], { cwd: context, env: { ...process.env, ...envOf(build) }, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    const stageRoot = workdirOf(build);
    for (const step of copySteps(runtime).filter((c) => c.from === 'build')) {
      const dest = inImage(path.posix.resolve(workdirOf(runtime), step.dest));
      for (const src of step.sources) {
        // the official image's node: this machine's node 20 stands in for it
        const from = src === '/usr/local/bin/node' ? process.execPath : path.join(context, path.relative(stageRoot, src));
        const matches = path.basename(from).startsWith('*')
          ? fs.readdirSync(path.dirname(from)).filter((f) => f.endsWith(path.basename(from).slice(1)))
          : [path.basename(from)];
        assert.ok(matches.length > 0 && fs.existsSync(path.join(path.dirname(from), matches[0])), `the build stage made ${src}`);
        for (const m of matches) {
          const target = step.dest.endsWith('/') ? path.join(dest, m) : dest;
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.cpSync(path.join(path.dirname(from), m), target, { recursive: true });
        }
      }
    }
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const entrypoint = () => {
    const [node, cli] = execForm(runtime, 'ENTRYPOINT');
    return { node: inImage(path.posix.join('/usr/local/bin', node)), cli: inImage(cli) };
  };
  /** the image's CMD with its absolute paths in the temporary root */
  const cmd = () => execForm(runtime, 'CMD').map((a) => (a.startsWith('/') ? inImage(a) : a));

  test('the runtime stage gets the built agent, addon and BPF objects, and only the production dependencies', () => {
    const root = inImage(workdirOf(runtime));
    assert.ok(fs.existsSync(path.join(root, 'dist', 'agent', 'src', 'cli.js')));
    assert.ok(fs.existsSync(path.join(root, 'native', 'build', 'Release', 'kotel_native.node')));
    const objects = fs.readdirSync(path.join(root, 'bpf', '.output'));
    for (const family of families.map((f) => f.name)) assert.ok(objects.includes(`${family}.bpf.o`), `${family}.bpf.o`);
    const modules = fs.readdirSync(path.join(root, 'node_modules'));
    assert.ok(modules.includes('yaml') && modules.includes('@opentelemetry'), 'runtime dependencies');
    for (const dev of ['typescript', 'eslint', 'node-gyp', 'ajv']) assert.ok(!modules.includes(dev), `${dev} (a dev dependency) is pruned`);
    assert.ok(!fs.existsSync(path.join(root, 'test')) && !fs.existsSync(path.join(root, 'dist', 'test')), 'no tests in the image');
  });

  test("the image's entry point, from its own files, lists the probes attached on this kernel", async () => {
    const { node, cli } = entrypoint();
    const r = spawnSync(node, [cli, 'probes'], { env: { ...process.env, ...imageEnv }, encoding: 'utf8' });
    // 3 where this kernel cannot attach some fentry/fexit probes (no BPF trampolines here)
    assert.equal(r.status, (await trampolineOnlyMisses()).size ? 3 : 0, r.stderr);
    assert.match(r.stdout, /tcp_probe\s.*tp_btf/);
  });

  test('the image runs the shipped config; its HEALTHCHECK passes while the agent runs and fails once it is gone', async () => {
    const { node, cli } = entrypoint();
    const env = { ...imageEnv, KOTEL_PROMETHEUS_PORT: String(await freePort()) };
    const agent = startAgent(cmd(), env, { node, cli });
    const health = () =>
      new Promise<number>((resolve) => {
        const [exe, ...args] = healthcheckCommand(runtime);
        execFile(exe === 'node' ? node : exe, args, { env: { ...process.env, ...env }, timeout: 5000 }, (err) =>
          resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
        );
      });
    try {
      await agent.waitFor(/kotel running/, 60_000);
      assert.match(agent.stderr(), new RegExp(`Prometheus metrics at http://0\\.0\\.0\\.0:${env.KOTEL_PROMETHEUS_PORT}/metrics`));
      assert.equal(await health(), 0, 'healthy');
    } finally {
      assert.equal(await agent.stop(), 0);
    }
    assert.equal(await health(), 1, 'unhealthy once the agent is gone');
    assert.equal(agent.stdout(), '', 'no console report in the image (KOTEL_CONSOLE_ENABLED=false)');
  });
});
