// A running agent with every family and option that loads here, killed with SIGKILL (no handler runs) or
// stopped with SIGTERM, leaves no BPF program, link or map of its own behind: the agent's BPF objects are
// read from its fds' fdinfo (prog_id, map_id, link_id: exactly its own, whatever else runs on the
// machine), and after the exit `bpftool -j prog|link|map show` must list none of them; nor may a
// uprobe or kprobe event of its pid stay in tracefs (libbpf's legacy attach names them libbpf_<pid>_...).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { freePort, startAgent, writeConfig } from '../helpers/agentProcess';
import { scaled } from '../helpers/timing';
import { tool } from '../helpers/tools';

const notRoot = process.getuid?.() !== 0 ? 'loading BPF programs needs root' : false;

interface Owned {
  prog: Set<number>;
  map: Set<number>;
  link: Set<number>;
}

/** the BPF programs, maps and links behind a process's fds */
function ownedBy(pid: number): Owned {
  const owned: Owned = { prog: new Set(), map: new Set(), link: new Set() };
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let info: string;
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    for (const [field, set] of [
      ['link_id', owned.link],
      ['prog_id', owned.prog],
      ['map_id', owned.map],
    ] as const) {
      const m = new RegExp(`^${field}:\\s*(\\d+)$`, 'm').exec(info);
      // a link's fdinfo also names its program: count it as the link only
      if (m) {
        set.add(Number(m[1]));
        break;
      }
    }
  }
  return owned;
}

function listed(kind: 'prog' | 'link' | 'map'): Map<number, string> {
  const list = JSON.parse(execFileSync(tool('bpftool'), ['-j', kind, 'show'], { encoding: 'utf8' })) as {
    id: number;
    name?: string;
    type?: string;
  }[];
  return new Map(list.map((e) => [e.id, e.name ?? e.type ?? '']));
}

function tracefsEvents(pid: number): string[] {
  const out: string[] = [];
  for (const f of ['uprobe_events', 'kprobe_events']) {
    try {
      out.push(
        ...fs
          .readFileSync(`/sys/kernel/tracing/${f}`, 'utf8')
          .split('\n')
          .filter((l) => l.includes(`libbpf_${pid}_`)),
      );
    } catch {
      // no tracefs: nothing can be left there
    }
  }
  return out;
}

/** every family on, with the options that add programs and rings (futex waits, spans) */
const EVERYTHING = `
families:
  tcp: { enabled: true, connectionSpans: true }
  sched: { enabled: true, offCpu: true }
  rdma: { enabled: true, kernel: true }
  locks: { enabled: true, futex: true, spanThresholdMs: 1 }
otlp: { enabled: false }
console: { enabled: false }
`;

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`${signal}: no program, link, map or tracefs probe of the agent is left`, { skip: notRoot }, async (t) => {
    const agent = startAgent(['run', '--config', writeConfig(EVERYTHING), '--prometheus-port', String(await freePort())]);
    await agent.waitFor(/kotel running/, 30_000);
    const pid = agent.child.pid!;
    const owned = ownedBy(pid);
    const programs = listed('prog');
    const names = [...owned.prog].map((id) => programs.get(id) ?? `#${id}`);
    t.diagnostic(`agent ${pid}: ${owned.prog.size} programs, ${owned.link.size} links, ${owned.map.size} maps`);
    // the families that load here: tcp, sched, rdma (uprobes on libibverbs), locks
    for (const p of ['tcp_probe', 'sched_switch', 'create_qp_out', 'contention_begin', 'futex_enter'])
      assert.ok(
        names.some((n) => n.startsWith(p)),
        `${p}… among the agent's programs: ${names.join(', ')}`,
      );
    assert.ok(owned.link.size >= 10 && owned.map.size >= 10, `links ${owned.link.size}, maps ${owned.map.size}`);

    agent.child.kill(signal);
    const code = await new Promise<number | null>((resolve) =>
      agent.child.exitCode !== null || agent.child.signalCode !== null ? resolve(agent.child.exitCode) : agent.child.once('exit', resolve),
    );
    if (signal === 'SIGTERM') assert.equal(code, 0, agent.stderr());

    // the kernel frees what the last fd held after an RCU grace period: poll until gone, with a deadline
    const left = (): string[] => {
      const out: string[] = [];
      for (const kind of ['prog', 'link', 'map'] as const) {
        const now = listed(kind);
        for (const id of owned[kind]) if (now.has(id)) out.push(`${kind} ${id} ${now.get(id)}`);
      }
      return [...out, ...tracefsEvents(pid)];
    };
    let remaining = left();
    for (const end = Date.now() + scaled(10_000); remaining.length && Date.now() < end; remaining = left())
      await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(remaining, [], `left behind after ${signal}`);
  });
}
