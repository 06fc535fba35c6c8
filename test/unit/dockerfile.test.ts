// The image (Dockerfile, .dockerignore) as a user relies on it, checked without Docker (not installed here):
// the build stage installs scripts/packages.txt's run packages through scripts/setup.sh; the runtime stage
// installs Debian 12 packages that give the built addon every library it links and the agent every program
// it runs, and nothing to build with; the paths the entry point, config and health check use are the ones
// the stages produce. test/integration/image-build.test.ts runs the build stage's commands on its context.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../agent/src/config';
import { ROOT } from '../helpers/deploy';
import {
  aptInstalls,
  buildContext,
  copySteps,
  envOf,
  execForm,
  exposedPorts,
  healthcheckCommand,
  readStages,
  runCommands,
  stageNamed,
  workdirOf,
} from '../helpers/dockerfile';
import { dpkgOwner, linesFor, onPath, tool } from '../helpers/tools';

const stages = readStages();
const build = stageNamed(stages, 'build');
const runtime = stageNamed(stages, 'runtime');
const runtimePackages = runCommands(runtime).flatMap(aptInstalls);
const ADDON = path.join(ROOT, 'native', 'build', 'Release', 'kotel_native.node');

const dpkg = (args: string[]) => execFileSync('dpkg-query', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const ownerOf = (file: string) => dpkgOwner(file) ?? `no package owns ${file}`;

/** the packages debian:bookworm-slim has: Priority required, and apt with what it depends on */
function slimBase(): Set<string> {
  const all = dpkg(['-W', '-f=${Package} ${Priority}\n']).split('\n');
  const required = all.filter((l) => l.endsWith(' required')).map((l) => l.split(' ')[0]);
  const aptDeps = dpkg(['-W', '-f=${Depends}', 'apt'])
    .split(',')
    .map((d) => d.trim().split(/[\s:(]/)[0]);
  return new Set([...required, 'apt', ...aptDeps]);
}

/** path of a shared library as the dynamic loader finds it (x86-64) */
function libraryPath(soname: string): string {
  const line = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.trim().startsWith(`${soname} (`) && l.includes('x86-64'));
  assert.ok(line, `${soname} is known to ldconfig`);
  return line.split('=> ')[1].trim();
}

/** the executables agent/src runs (literal first arguments of child_process calls) */
function agentExecutables(dir = path.join(ROOT, 'agent', 'src')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return agentExecutables(p);
    const text = e.name.endsWith('.ts') ? fs.readFileSync(p, 'utf8') : '';
    return [...text.matchAll(/\b(?:execFileSync|execFile|spawnSync|spawn)\(\s*'([^']+)'/g)].map((m) => m[1]);
  });
}

test('the build stage is Debian 12 with Node.js 20 and installs and builds with scripts/setup.sh (the run lines of scripts/packages.txt)', () => {
  assert.match(build.image, /^node:20\.\d+\.\d+-bookworm(-slim)?$/, 'the official Node.js 20 image on Debian 12, pinned');
  assert.ok(
    runCommands(build).some((c) => c.startsWith('bash scripts/setup.sh run ')),
    'scripts/setup.sh run',
  );
  assert.deepEqual(runCommands(build).flatMap(aptInstalls), [], 'no second package list: scripts/packages.txt is the one');
});

test('the runtime stage is Debian 12 slim with Debian 12 packages, and nothing to build with', () => {
  assert.equal(runtime.image, 'debian:bookworm-slim');
  assert.match(fs.readFileSync('/etc/debian_version', 'utf8'), /^12\./, 'this machine is Debian 12: its apt knows the packages');
  const known = execFileSync('apt-cache', ['show', '--no-all-versions', ...runtimePackages], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.deepEqual(
    [...known.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]),
    runtimePackages,
    'each is a Debian 12 package',
  );
  assert.deepEqual(
    runtimePackages.filter((p) => p.endsWith('-dev')),
    [],
    'no headers',
  );
  // of the build's packages (scripts/packages.txt, run), only those providing a program the agent runs
  const runs = new Set(agentExecutables());
  const expected = linesFor('run')
    .filter((l) => l.purpose === 'run' && l.provides.some((p) => runs.has(p)))
    .map((l) => l.pkg);
  const buildLines = new Set(linesFor('run').map((l) => l.pkg));
  assert.deepEqual(runtimePackages.filter((p) => buildLines.has(p)).sort(), [...new Set(expected)].sort());
});

test('the runtime packages (or the slim base) give every program the agent runs', () => {
  const base = slimBase();
  for (const exe of new Set(agentExecutables())) {
    const file = onPath(exe, '/usr/sbin:/usr/bin:/sbin:/bin');
    assert.ok(file, `${exe} is installed here`);
    const owner = ownerOf(file);
    assert.ok(runtimePackages.includes(owner) || base.has(owner), `${exe} (package ${owner}) is in the runtime image`);
  }
});

test('the runtime packages (or the slim base) give every library the built addon links, and libibverbs.so.1', () => {
  const base = slimBase();
  const readelf = execFileSync(tool('readelf'), ['-d', ADDON], { encoding: 'utf8' });
  const needed = [...readelf.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  assert.ok(needed.includes('libbpf.so.1'), `the addon links libbpf (${needed.join(', ')})`);
  for (const soname of [...needed, 'libibverbs.so.1']) {
    const owner = ownerOf(libraryPath(soname));
    assert.ok(runtimePackages.includes(owner) || base.has(owner), `${soname} (package ${owner}) is in the runtime image`);
  }
});

test('the runtime stage copies what the agent runs from, where it looks, and runs it with the shipped config', () => {
  const workdir = workdirOf(runtime);
  const dest = (d: string) => path.posix.resolve(workdir, d);
  const fromBuild = copySteps(runtime).filter((c) => c.from === 'build');
  for (const src of fromBuild.flatMap((c) => c.sources).filter((x) => x.startsWith(`${workdirOf(build)}/`))) {
    const rel = path.relative(workdirOf(build), src);
    const [dir, pattern] = [path.join(ROOT, path.dirname(rel)), path.basename(rel)];
    const built = pattern.startsWith('*') ? fs.readdirSync(dir).filter((f) => f.endsWith(pattern.slice(1))) : [pattern];
    assert.ok(built.length > 0 && built.every((f) => fs.existsSync(path.join(dir, f))), `${rel} is what the build makes`);
  }
  const [node, script] = execForm(runtime, 'ENTRYPOINT');
  assert.equal(node, 'node');
  assert.ok(
    fromBuild.some((c) => c.sources.includes('/usr/local/bin/node') && dest(c.dest) === '/usr/local/bin/node'),
    'node is on PATH',
  );
  const agentDir = fromBuild.find((c) => c.sources.includes(`${workdirOf(build)}/dist/agent`));
  assert.equal(script, path.posix.join(dest(agentDir!.dest), 'src', 'cli.js'), 'the entry point is the copied CLI');
  const cmd = execForm(runtime, 'CMD');
  const config = cmd[cmd.indexOf('--config') + 1];
  const configDir = fromBuild.find((c) => c.sources.includes(`${workdirOf(build)}/config`))!;
  assert.equal(path.posix.relative(dest(configDir.dest), config), 'kotel.yaml', 'CMD runs the shipped config/kotel.yaml');
  assert.deepEqual(cmd.slice(0, 1), ['run']);
});

test("the image's environment is valid kotel configuration: endpoint on every address, no console report", () => {
  const c = loadConfig({ file: path.join(ROOT, 'config', 'kotel.yaml'), env: envOf(runtime) });
  assert.equal(c.prometheus.host, '0.0.0.0');
  assert.equal(c.console.enabled, false);
});

test('HEALTHCHECK asks /healthz on the Prometheus port of the shipped config, and EXPOSE publishes that port', () => {
  const c = loadConfig({ file: path.join(ROOT, 'config', 'kotel.yaml'), env: envOf(runtime) });
  const script = healthcheckCommand(runtime).join(' ');
  assert.match(script, /^node -e /);
  assert.ok(script.includes('/healthz'), script);
  assert.ok(script.includes(`|| ${c.prometheus.port})`), `defaults to port ${c.prometheus.port}`);
  assert.ok(script.includes('process.env.KOTEL_PROMETHEUS_PORT'), 'follows KOTEL_PROMETHEUS_PORT');
  assert.deepEqual(exposedPorts(runtime), [c.prometheus.port]);
});

test('.dockerignore keeps build output and what the build does not need out of the context', () => {
  const context = buildContext();
  const leaked = context.filter((f) => /^(node_modules|dist|test|bench|\.git|\.ci)\/|^native\/build\/|^bpf\/\.output\/|\.bpf\.o$/.test(f));
  assert.deepEqual(leaked, []);
  for (const f of [
    'package-lock.json',
    'scripts/setup.sh',
    'scripts/packages.txt',
    'agent/src/cli.ts',
    'native/binding.gyp',
    'bpf/Makefile',
  ]) {
    assert.ok(context.includes(f), `${f} is in the context`);
  }
});
