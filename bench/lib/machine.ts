// The machine, kernel and versions a run was made on, and how busy the host was.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { native } from '../../agent/src/native';
import { kotelVersion } from '../../agent/src/otel/resource';
import { sh } from './proc';

function tryRun(cmd: string): string {
  try {
    return sh(cmd).trim();
  } catch {
    return 'unknown';
  }
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  os: string;
  node: string;
  kotel: string;
  commit: string;
  libbpf: string;
  clang: string;
  bpftrace: string;
  loadAverage: number[];
  /** other processes that load the machine: other agents, test runners, bpftrace */
  otherActivity: string[];
}

/** kotel agents, test runs and tracers that are not this run's */
export function otherActivity(): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (/node --test|cli\.js run|bpftrace|scripts\/test\.sh/.test(cmd) && !cmd.includes('kotel-bench-')) found.push(cmd.slice(0, 120));
  }
  return found;
}

export function machine(): Machine {
  const osRelease = fs.existsSync('/etc/os-release')
    ? /PRETTY_NAME="([^"]*)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1]
    : undefined;
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    os: osRelease ?? 'unknown',
    node: process.version,
    kotel: kotelVersion(),
    commit: tryRun('git rev-parse --short HEAD') + (tryRun('git status --porcelain') ? ' (uncommitted changes)' : ''),
    libbpf: native.libbpfVersion(),
    clang: tryRun('clang --version | head -1'),
    bpftrace: tryRun('bpftrace --version'),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    otherActivity: otherActivity(),
  };
}
