// A fresh machine gets every tool the agent, the tests and the bench run: the executables spawned by their
// sources (TypeScript, shell scripts, Python imports) must each be provided by a line of scripts/packages.txt
// for that purpose, or belong to an Essential Debian package; every line must be true (dpkg says the file is
// the package's) and used; and a missing tool fails with one line naming its package.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dpkgOwner, linesFor, missingToolMessage, onPath, packageLines, tool, explainShellError, type Purpose } from '../helpers/tools';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(rel, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(rel);
  }
  return out;
}

/** the sources of a purpose; the bench also runs the test files it imports or names by path */
function sources(purpose: Purpose): string[] {
  const exts = ['.ts', '.sh', '.py'];
  // the lint is set up and run with the tests
  const lint = 'scripts/lint.sh';
  if (purpose === 'run')
    return [
      ...filesUnder('agent/src', exts),
      ...filesUnder('scripts', exts).filter((f) => f !== lint),
      'bpf/Makefile',
      'native/binding.gyp',
    ];
  // this file's own literals are test data
  if (purpose === 'test')
    return [
      ...filesUnder('test', exts).filter((f) => f !== 'test/unit/setup-packages.test.ts'),
      'test/fixtures/bpf/Makefile',
      '.ci/run',
      lint,
    ];
  const files = new Set(filesUnder('bench', exts));
  for (const queue = [...files]; queue.length;) {
    const file = queue.pop()!;
    // code only: a path named in a comment is not run
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*(?:\/\/|#).*$/gm, '');
    const refs = [
      ...[...text.matchAll(/from '(\.[^']+)'/g)].map((m) => path.join(path.dirname(file), m[1]) + '.ts'),
      ...[...text.matchAll(/\btest\/[\w/.-]+\.(?:sh|ts|py)\b/g)].map((m) => m[0]),
    ];
    for (const ref of refs) {
      if (ref.startsWith('test/') && fs.existsSync(path.join(ROOT, ref)) && !files.has(ref)) {
        files.add(ref);
        queue.push(ref);
      }
    }
  }
  return [...files];
}

const SHELL_WORDS = new Set(
  (
    'if then else elif fi case esac for while until do done in function return exit exec set unset shift local export ' +
    'readonly declare cd echo printf read test true false wait trap eval source . : [ [[ ]] ]] time ! command type mapfile break continue kill'
  ).split(' '),
);

/** what an npm package's command runs in turn: node-gyp builds the addon with make and g++ and runs python3 */
const IMPLIED: Record<string, string[]> = { 'node-gyp': ['make', 'g++', 'python3'], tsc: [] };

/** what `npm start` itself presupposes (the README's quick start): Node.js with npm, on Debian with apt */
const PREREQUISITES = new Set(['node', 'npm', 'npx', 'apt-get', 'apt-cache']);

/** the commands a shell script (or a `sh -c` string) runs: the first word of each simple command */
export function shellCommands(script: string): string[] {
  const found = new Set<string>();
  const functions = new Set([...script.matchAll(/^\s*([\w-]+)\s*\(\)\s*\{/gm)].map((m) => m[1]));
  let heredoc: string | undefined;
  let inCase = 0;
  for (let line of script.replace(/\\\n/g, ' ').split('\n')) {
    if (heredoc) {
      if (line.trim() === heredoc) heredoc = undefined;
      continue;
    }
    heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(line)?.[1];
    line = line
      .replace(/'[^']*'/g, 'Q')
      .replace(/"(?:\\.|[^"\\])*"/g, 'Q')
      .replace(/(^|\s)#.*$/, '')
      .replace(/\b\w+=\([^)]*\)/g, ' '); // array assignments
    if (/\bcase\b.*\bin\b/.test(line)) inCase++;
    if (/\besac\b/.test(line)) inCase--;
    if (inCase > 0) line = line.replace(/^\s*[^\s()]+(?:\s*\|\s*[^\s()]+)*\)/, ' ');
    for (const segment of line.split(/&&|\|\||[|;&(){}`]|\$\(/)) {
      const words = segment.trim().split(/\s+/).filter(Boolean);
      while (
        words.length &&
        (/^\w+=/.test(words[0]) || ['then', 'do', 'else', 'elif', 'if', 'while', 'until', '!', 'exec', 'time'].includes(words[0]))
      )
        words.shift();
      // `ip netns exec NS cmd ...` runs cmd too; `command -v cmd` looks for it; `npx --no-install cmd` runs an npm package's cmd
      const commands =
        words[0] === 'ip' && words[1] === 'netns' && words[2] === 'exec'
          ? ['ip', words[4]]
          : words[0] === 'command' && words[1] === '-v'
            ? [words[2]]
            : words[0] === 'npx'
              ? (IMPLIED[words.find((w, i) => i > 0 && !w.startsWith('-')) ?? ''] ?? [])
              : [words[0]];
      for (const w of commands) {
        if (w && /^[A-Za-z][\w.+-]*$|^\/usr\/bin\/[\w.+-]+$/.test(w) && !SHELL_WORDS.has(w) && !functions.has(w) && w !== 'Q') found.add(w);
      }
    }
  }
  return [...found];
}

interface Spawn {
  exe: string;
  file: string;
  /** started straight through node:child_process, not through tool() or bench's run/spawnLines */
  raw: boolean;
}

/** what a TypeScript source spawns: literal commands of child_process calls, tool(), bench's run/spawnLines, sh strings */
function tsSpawns(file: string, text: string): Spawn[] {
  const out: Spawn[] = [];
  // run() and spawnLines() are the bench's command runners (bench/lib/proc.ts); tests have other run()s
  const calls = file.startsWith('bench/')
    ? /\b(execFileSync|execFile|spawnSync|spawn|spawnLines|run|tool)\(\s*'([^'$]+)'/g
    : /\b(execFileSync|execFile|spawnSync|spawn|tool)\(\s*'([^'$]+)'/g;
  for (const m of text.matchAll(calls)) {
    out.push({ exe: m[2], file, raw: ['execFileSync', 'execFile', 'spawnSync', 'spawn'].includes(m[1]) });
  }
  for (const m of text.matchAll(/\b(?:sh|tryRun)\(\s*(['`])((?:\\.|(?!\1).)*)\1/gs)) {
    for (const exe of shellCommands(m[2].replace(/\$\{[^}]*\}/g, 'X'))) out.push({ exe, file, raw: false });
  }
  return out;
}

/** the recipes of a Makefile, with single-word variables ($(CLANG)) expanded */
function makefileCommands(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  const vars = new Map([...joined.matchAll(/^(\w+)\s*[?:]?=\s*(\S+)\s*$/gm)].map((m) => [m[1], m[2]]));
  const recipes = [...joined.matchAll(/^\t[@-]*(.*)$/gm)].map((m) => m[1].replace(/\$\((\w+)\)/g, (_, v: string) => vars.get(v) ?? 'X'));
  return shellCommands(recipes.join('\n'));
}

function pythonImports(text: string): string[] {
  return [...text.matchAll(/^\s*(?:from\s+(\w+)[\w.]*\s+import|import\s+(\w+))/gm)].map((m) => m[1] ?? m[2]);
}

function spawnsOf(purpose: Purpose): Spawn[] {
  const out: Spawn[] = [];
  for (const file of sources(purpose)) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    if (file.endsWith('.ts')) out.push(...tsSpawns(file, text));
    else if (file.endsWith('.py')) out.push(...pythonImports(text).map((m) => ({ exe: `py:${m}`, file, raw: false })));
    else if (file.endsWith('Makefile')) out.push(...makefileCommands(text).map((exe) => ({ exe, file, raw: false })));
    else if (file.endsWith('.gyp'))
      out.push(...[...text.matchAll(/<!@?\(([^)]*)\)/g)].flatMap((m) => shellCommands(m[1])).map((exe) => ({ exe, file, raw: false })));
    else out.push(...shellCommands(text).map((exe) => ({ exe, file, raw: false })));
  }
  return out;
}

const STDLIB = new Set(
  execFileSync('/usr/bin/python3', ['-c', 'import sys; print("\\n".join(sys.stdlib_module_names))'], { encoding: 'utf8' }).split('\n'),
);

function isEssential(pkg: string): boolean {
  return execFileSync('dpkg-query', ['-W', '-f=${Essential}', pkg], { encoding: 'utf8' }).trim() === 'yes';
}

/** the package itself or one it depends on directly (gcc -> gcc-12 owns the real cc) */
function packageOrDependency(pkg: string, owner: string): boolean {
  if (pkg === owner) return true;
  const depends = execFileSync('dpkg-query', ['-W', '-f=${Depends},${Pre-Depends}', pkg], { encoding: 'utf8' });
  return depends.split(/[,|]/).some((d) => d.trim().split(/[\s:(]/)[0] === owner);
}

for (const purpose of ['run', 'test', 'bench'] as const) {
  test(`every executable the ${purpose} sources spawn is installed by scripts/setup.sh ${purpose}`, () => {
    const provided = new Set(linesFor(purpose).flatMap((l) => l.provides));
    const spawns = spawnsOf(purpose);
    assert.ok(spawns.length > 5, `found the spawns of ${purpose} (${spawns.length})`);
    const missing: string[] = [];
    for (const s of spawns) {
      if (provided.has(s.exe) || PREREQUISITES.has(s.exe)) continue;
      if (s.exe.startsWith('py:')) {
        if (!STDLIB.has(s.exe.slice(3))) missing.push(`${s.exe} (imported by ${s.file})`);
        continue;
      }
      const file = onPath(s.exe);
      const owner = file && dpkgOwner(file);
      if (!owner || !isEssential(owner)) missing.push(`${s.exe} (run by ${s.file}${owner ? `, package ${owner}` : ''})`);
    }
    assert.deepEqual([...new Set(missing)], [], `add a "${purpose}" line to scripts/packages.txt for each`);
  });

  test(`every ${purpose} line of scripts/packages.txt is used, and spawns go through tool()`, () => {
    const spawns = spawnsOf(purpose);
    const used = new Set(spawns.map((s) => s.exe));
    for (const line of packageLines().filter((l) => l.purpose === purpose)) {
      assert.ok(
        line.provides.length === 0 || line.provides.some((p) => used.has(p)),
        `${line.pkg}: nothing in the ${purpose} sources runs ${line.provides.join(', ')}`,
      );
    }
    const provided = new Set(linesFor(purpose).flatMap((l) => l.provides));
    const raw = spawns.filter((s) => s.raw && provided.has(s.exe)).map((s) => `${s.file}: ${s.exe}`);
    if (purpose !== 'run')
      assert.deepEqual(raw, [], 'spawn these through tool() from test/helpers/tools, so a missing one names its package');
  });
}

test('each executable in scripts/packages.txt is the package’s own file (dpkg), where installed', () => {
  let checked = 0;
  for (const line of packageLines()) {
    for (const exe of line.provides.filter((p) => !p.startsWith('py:'))) {
      const file = onPath(exe);
      if (!file || !/^\/(usr\/)?s?bin\//.test(file)) continue; // not installed, or not Debian's (pyenv, /usr/local)
      const owner = dpkgOwner(file);
      assert.ok(owner && packageOrDependency(line.pkg, owner), `${exe} (${file}) belongs to ${owner ?? 'no package'}, not ${line.pkg}`);
      checked++;
    }
  }
  assert.ok(checked > 10, `checked ${checked} executables`);
});

test('a missing tool fails with one line naming its Debian package', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.throws(() => tool('bpftrace'), {
      message: 'bpftrace not found on PATH: install the Debian package bpftrace (`npm test` does: scripts/setup.sh test)',
    });
    assert.throws(
      () => tool('llvm-objdump', 'bench'),
      /^Error: llvm-objdump not found on PATH: install the Debian package llvm \(`npm run bench` does/,
    );
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(
    missingToolMessage('frobnicate', 'test'),
    'frobnicate not found on PATH: no line of scripts/packages.txt provides it for test: add one',
  );
  const shellError = Object.assign(new Error('Command failed'), { status: 127, stderr: Buffer.from('sh: 1: nft: not found\n') });
  assert.equal((explainShellError(shellError) as Error).message, missingToolMessage('nft', 'test'));
  const other = Object.assign(new Error('x'), { status: 1, stderr: '' });
  assert.equal(explainShellError(other), other, 'other failures pass through');
});

test('the shell parser finds commands, not words, keywords or patterns', () => {
  const script = `set -e
f() { cc -o x y.c; }
case "$x" in
  44.*) ;;
  run | test) echo hi ;;
esac
x=$(dpkg-query -W foo | grep -q bar) && mknod /dev/x c 1 3
ip netns exec kotel-srv nft -f - <<EOF
table inet t { chain c { udp dport 1 drop } }
EOF
awk '$1 == "run" || $1 == p { print }' file # tc in a comment
mods=(virtio_pci 9p) && f && "$out/workload" --x`;
  assert.deepEqual(shellCommands(script).sort(), ['awk', 'cc', 'dpkg-query', 'grep', 'ip', 'mknod', 'nft']);
});
