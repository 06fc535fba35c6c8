// The hooks a running agent attached (from its kotel.probe.attached series) and empty programs on the same
// hooks, the same kind of attachment (bench/bpf/floor.bpf.c): the floor of a program's cost (section 1) and
// of a workload's overhead (section 2).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../agent/src/config';
import { BpfObject, type HookKind, type Rung } from '../../agent/src/native';
import { families as registered } from '../../agent/src/probes/registry';
import { scrape } from '../../test/helpers/scrape';
import { buildBpf } from './build';
import { familyStatus } from './discover';
import { run } from './proc';

export interface Hook {
  family: string;
  probe: string;
  program: string;
  kind: HookKind;
  section: string;
  /** its empty program's name in the floor object */
  floor: string;
  rung?: Rung;
}

/** SEC() name of each program in a BPF object, from its symbol table */
async function sectionsOf(object: string): Promise<Map<string, string>> {
  const out = await run('llvm-objdump', ['--syms', object]);
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /\sF\s+(\S+)\s+[0-9a-f]+\s+(\S+)$/.exec(line);
    if (m) map.set(m[2], m[1]);
  }
  return map;
}

/** every program the agent (Prometheus on promPort) attached; `skipped`: uprobes whose target it chose at
 * run time, which have no floor; `unattached`: family/probe of the probes it could not attach */
export async function attachedHooks(promPort: number): Promise<{ hooks: Hook[]; skipped: Hook[]; unattached: string[] }> {
  const config = loadConfig({ flags: {} });
  const hooks: Hook[] = [];
  const skipped: Hook[] = [];
  const unattached: string[] = [];
  const secs = new Map<string, Map<string, string>>();
  for (const s of await scrape(promPort)) {
    if (!s.name.startsWith('kotel_probe_attached')) continue;
    const { kotel_family: family, kotel_probe: probe, kotel_program: program, kotel_hook: kind } = s.labels;
    if (s.value !== 1) {
      unattached.push(`${family}/${probe}`);
      continue;
    }
    if (!secs.has(family)) secs.set(family, await sectionsOf(familyStatus(family).object));
    const section = secs.get(family)!.get(program);
    const rung = registered
      .find((f) => f.name === family)
      ?.openOptions(config)
      .ladders[probe]?.find((r) => r.program === program);
    if (!section) continue;
    // a program whose target the agent sets at load time (SEC("fentry") and a rung's target): the floor names it
    const hooked = rung?.target && !section.includes('/') ? `${section}/${rung.target}` : section;
    const hook = { family, probe, program, kind: kind as HookKind, section: hooked, floor: `floor_${hooks.length}`, rung };
    if ((kind === 'uprobe' || kind === 'uretprobe') && rung?.offset === undefined) skipped.push(hook);
    else hooks.push(hook);
  }
  return { hooks, skipped, unattached };
}

/** loads and attaches an empty program on each hook; `notes`: those that did not attach */
export async function openFloors(hooks: Hook[]): Promise<{ object: BpfObject; notes: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-bench-floor-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'floor_hooks.h'),
      hooks
        .map(
          (h) =>
            `FLOOR(${h.floor}, "${h.section.startsWith('uprobe') || h.section.startsWith('uretprobe') ? h.section.split('/')[0] : h.section}")\n`,
        )
        .join(''),
    );
    const floorPath = await buildBpf('floor', dir);
    const ladders: Record<string, Rung[]> = {};
    const loadOnly: string[] = [];
    for (const h of hooks) {
      if (h.kind === 'uprobe' || h.kind === 'uretprobe') loadOnly.push(h.floor);
      else ladders[h.floor] = [{ program: h.floor, kind: h.kind }];
    }
    const object = BpfObject.open(floorPath, { ladders, loadOnly });
    for (const h of hooks) {
      if (h.rung?.binary && h.rung.offset !== undefined)
        object.attachUprobe(h.floor, h.rung.binary, h.rung.offset, h.kind === 'uretprobe', -1);
    }
    const notes = object.attachments.filter((a) => !a.attached).map((a) => `floor ${a.probe} did not attach: ${a.failures.at(-1)?.reason}`);
    return { object, notes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
