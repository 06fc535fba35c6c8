// The config corpus tests' runner (test/unit/config-corpus*.test.ts): a bad config, flag or environment
// value through the real CLI as a child process; exactly one line on stderr naming the culprit and the fix,
// exit 2, no stack trace.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI } from './agentProcess';

/** scratch directory of one corpus file (removed by its test.after) */
export const corpusDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-corpus-'));

export interface Case {
  what: string;
  args: string[];
  env?: Record<string, string>;
  /** run as nobody (an unreadable file) */
  nobody?: boolean;
  /** the key, flag, variable or file the line must name */
  names: RegExp;
  /** what the user should do: the allowed values, the right form, the nearest key */
  fix: RegExp;
}

export const check = (f: string): string[] => ['check-config', '--config', f];
export const MS = /must be a duration in milliseconds \(or with a unit: 500ms, 10s, 1m\) >= \d+/;

/** the environment of the parent without any kotel or OpenTelemetry setting */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KOTEL_') && !k.startsWith('OTEL_')));
}

/** the CLI to its exit; an agent that starts running instead of refusing is stopped after a minute */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  nobody: boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [...(nobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : []), CLI, ...args];
  const child = spawn(nobody ? 'setpriv' : process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

export async function runCase(c: Case): Promise<void> {
  if (c.nobody && process.getuid?.() !== 0) return; // switching to nobody needs root
  const { code, stdout, stderr } = await runCli(c.args, { ...cleanEnv(), ...c.env }, c.nobody === true);
  const where = `${c.what}: kotel ${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}\n${stderr}`;
  assert.equal(code, 2, where);
  assert.equal(stdout, '', where);
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line: ${where}`);
  assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace: ${where}`);
  assert.match(lines[0], c.names, `names the culprit: ${where}`);
  assert.match(lines[0], c.fix, `says the fix: ${where}`);
}

export async function runAll(cases: Case[]): Promise<void> {
  // four at a time: the machine is shared
  for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map(runCase));
}
