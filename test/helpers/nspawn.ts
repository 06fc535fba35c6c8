// A real systemd to run a unit under: systemd-nspawn boots this machine's own root file system (an overlay
// whose writes go to a tmpfs, so the host is untouched) with systemd as PID 1, sharing the host's network.
// Commands run inside through nsenter into its init's namespaces.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tool } from './tools';
import { scaled } from './timing';

export interface Container {
  /** a command inside (root, all the container's namespaces): its stdout */
  run(cmd: string[]): string;
  /** powers it off and removes the overlay */
  close(): Promise<void>;
}

export interface BootOptions {
  /** host paths visible read-only at the same place inside */
  bindReadOnly: string[];
  /** capabilities the container keeps besides nspawn's default set (CAP_SYSLOG, ...) */
  capabilities: string[];
  /** called with the container's root before it boots (to install a unit) */
  prepare(root: string): void;
  /** the unit systemd boots into (systemd.unit=), e.g. kotel.service */
  unit: string;
}

function childOf(pid: number): number | undefined {
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

export async function bootSystemd(options: BootOptions): Promise<Container> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-nspawn-'));
  const root = path.join(dir, 'root');
  const mounted: string[] = [];
  const unmount = () => {
    for (const m of mounted.splice(0).reverse()) execFileSync(tool('umount'), [m]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // an overlay's upper layer cannot be on an overlay (as /tmp may be): a tmpfs of its own
  execFileSync(tool('mount'), ['-t', 'tmpfs', 'tmpfs', dir]);
  mounted.push(dir);
  for (const d of ['upper', 'work', 'root']) fs.mkdirSync(path.join(dir, d));
  execFileSync(tool('mount'), ['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${dir}/upper,workdir=${dir}/work`, root]);
  mounted.push(root);
  try {
    options.prepare(root);
  } catch (err) {
    unmount();
    throw err;
  }

  const args = [
    '--quiet',
    '--register=no', // no systemd-machined on the host
    '--keep-unit',
    '--link-journal=no',
    `--directory=${root}`,
    ...options.bindReadOnly.map((p) => `--bind-ro=${p}`),
    `--capability=${options.capabilities.join(',')}`,
    // nspawn's own seccomp filter lets no container load BPF programs otherwise
    '--system-call-filter=bpf perf_event_open',
    '--boot',
    `systemd.unit=${options.unit}`,
  ];
  const nspawn = spawn(tool('systemd-nspawn'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  nspawn.stdout.on('data', (d) => (output += d));
  nspawn.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => nspawn.on('exit', () => resolve()));

  let init: number | undefined;
  const run = (cmd: string[]) =>
    execFileSync(tool('nsenter'), [`--target=${init}`, '--all', ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const close = async () => {
    if (nspawn.exitCode === null) nspawn.kill('SIGTERM'); // nspawn powers the container off
    const timer = setTimeout(() => nspawn.kill('SIGKILL'), scaled(30_000));
    await exited;
    clearTimeout(timer);
    unmount();
  };
  try {
    for (const deadline = Date.now() + scaled(60_000); ;) {
      if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn.exitCode}: ${output.slice(-2000)}`);
      init ??= childOf(nspawn.pid!);
      if (init !== undefined) {
        try {
          run(['systemctl', 'is-system-running']);
          break;
        } catch (err) {
          // exit status 1 with an answer (starting, degraded): it is up; no answer: not yet
          if ((err as { stdout?: string }).stdout?.trim()) break;
        }
      }
      if (Date.now() > deadline) throw new Error(`systemd did not come up in the container: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { run, close };
}
