#!/usr/bin/env node
/**
 * Run a command in Debian's kernels, one guest after the other (see guest.ts).
 *
 *   node dist/test/kernels/run.js [options] KERNEL... -- COMMAND...
 *     KERNEL    6.1 6.1-rt 6.12 6.12-rt, or all
 *     COMMAND   run with bash in the current directory (words after -- are joined with spaces)
 *   options
 *     --timeout S     per guest (boot + command + power-off), default 600
 *     --env K=V       environment of the command (repeatable)
 *     --output        print each guest's command output before its summary line
 *     --console       stream each guest's console (kernel messages) to stderr as it boots
 *     --save DIR      write DIR/<kernel>/{output,console.log,result.json}, plus the files the command
 *                     wrote to $KOTEL_GUEST_OUT
 *
 * One summary line per kernel on stdout: kernel, exit code (or timeout / no exit code), seconds.
 * On a failure the tails of the command output and of the console follow. Exit 0 when every guest's
 * command exited 0; 1 when any failed or timed out; 2 on bad usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KERNELS, runInGuest, tail, verdict, type GuestResult } from './guest';

interface Args {
  kernels: string[];
  command: string;
  timeoutMs: number;
  env: Record<string, string>;
  output: boolean;
  console: boolean;
  save?: string;
}

const USAGE = `usage: run.js [--timeout S] [--env K=V]... [--output] [--console] [--save DIR] KERNEL... -- COMMAND...
  KERNEL: ${KERNELS.join(' ')} or all`;

function usage(msg?: string): never {
  if (msg) process.stderr.write(`run.js: ${msg}\n`);
  process.stderr.write(USAGE + '\n');
  process.exit(2);
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { kernels: [], command: '', timeoutMs: 600_000, env: {}, output: false, console: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const w = argv[i];
    if (w === '--') break;
    const value = (): string => {
      if (i + 1 >= argv.length) usage(`${w} needs a value`);
      return argv[++i];
    };
    if (w === '--timeout') {
      const s = Number(value());
      if (!Number.isFinite(s) || s <= 0) usage('--timeout takes seconds > 0');
      a.timeoutMs = s * 1000;
    } else if (w === '--env') {
      const kv = value();
      const eq = kv.indexOf('=');
      if (eq < 1) usage(`--env takes K=V, not ${kv}`);
      a.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (w === '--output') a.output = true;
    else if (w === '--console') a.console = true;
    else if (w === '--save') a.save = value();
    else if (w === '-h' || w === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (w.startsWith('-')) usage(`unknown option ${w}`);
    else if (w === 'all') a.kernels.push(...KERNELS);
    else if ((KERNELS as readonly string[]).includes(w)) a.kernels.push(w);
    else usage(`unknown kernel ${w}`);
  }
  if (a.kernels.length === 0) usage('no kernel given');
  const rest = argv.slice(i + 1);
  if (i >= argv.length || rest.length === 0) usage('no command given (after --)');
  a.command = rest.join(' ');
  return a;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  let failed = 0;
  for (const kernel of a.kernels) {
    let r: GuestResult;
    try {
      r = await runInGuest(kernel, a.command, {
        timeoutMs: a.timeoutMs,
        env: a.env,
        outDir: a.save ? path.join(a.save, kernel) : undefined,
        onConsole: a.console ? (s) => process.stderr.write(s) : undefined,
      });
    } catch (err) {
      failed++;
      process.stdout.write(`${kernel.padEnd(8)} ERROR  ${(err as Error).message}\n`);
      continue;
    }
    if (a.save) {
      const d = path.join(a.save, kernel);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'output'), r.output);
      fs.writeFileSync(path.join(d, 'console.log'), r.console);
      const { output: _o, console: _c, ...meta } = r;
      fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ kernel, command: a.command, ...meta }, null, 2) + '\n');
    }
    if (a.output && r.output) process.stdout.write(r.output.endsWith('\n') ? r.output : r.output + '\n');
    const ok = !r.timedOut && r.code === 0;
    const inGuest = r.guestStart !== undefined && r.guestEnd !== undefined ? `, command ${(r.guestEnd - r.guestStart).toFixed(1)} s` : '';
    process.stdout.write(`${kernel.padEnd(8)} ${verdict(r).padEnd(8)} ${r.seconds.toFixed(1)} s${inGuest}\n`);
    if (!ok) {
      failed++;
      if (!a.output && r.output) process.stdout.write(`--- ${kernel}: last lines of the output\n${tail(r.output, 30)}\n`);
      process.stdout.write(`--- ${kernel}: last lines of the console\n${tail(r.console, 40)}\n---\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`run.js: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
