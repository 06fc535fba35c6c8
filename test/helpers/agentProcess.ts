// Runs the real agent (dist/agent/src/cli.js) as a child process, the way a user does.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { scaled } from './timing';

export const CLI = path.resolve(__dirname, '..', '..', 'agent', 'src', 'cli.js');

export interface AgentProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** timeoutMs is stretched by scaled() */
  waitFor(pattern: RegExp, timeoutMs: number, stream?: 'stdout' | 'stderr'): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

export function writeConfig(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-test-'));
  const file = path.join(dir, 'kotel.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** a test agent's config: OTLP gRPC to a receiver in the test, metrics every second, no console report,
 * Prometheus only on promPort; `families`: YAML under families: (indented by two) */
export function testAgentConfig(o: { grpcPort: number; promPort?: number; families?: string }): string {
  return writeConfig(
    [
      ...(o.families ? ['families:', o.families.replace(/^/gm, '  ')] : []),
      `otlp:\n  endpoint: "http://127.0.0.1:${o.grpcPort}"`,
      'metrics:\n  interval: 1000',
      o.promPort ? `prometheus:\n  port: ${o.promPort}` : 'prometheus:\n  enabled: false',
      'console:\n  enabled: false',
    ].join('\n') + '\n',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** cli/node: another copy of the CLI and the node that runs it (an image's layout) */
export function startAgent(args: string[], env: NodeJS.ProcessEnv = {}, { cli = CLI, node = process.execPath } = {}): AgentProcess {
  const child = spawn(node, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, unscaledMs, stream = 'stderr') {
      const timeoutMs = scaled(unscaledMs);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(stream === 'stderr' ? err : out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode} before ${pattern}: ${err}`);
        if (Date.now() > deadline) throw new Error(`agent did not print ${pattern} within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** runs the CLI to completion */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  argv0: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const cmd = argv0.length ? argv0[0] : process.execPath;
    const child = spawn(cmd, [...argv0.slice(1), ...(argv0.length ? [process.execPath] : []), CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
