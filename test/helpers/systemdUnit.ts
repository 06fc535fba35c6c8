// The shipped systemd unit (deploy/systemd/kotel.service) as the tests read it: rendered by its own install
// script, its [Service] directives parsed (a key given twice adds to the list, as systemd does for these).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tool } from './tools';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const INSTALL_SCRIPT = path.join(ROOT, 'deploy', 'systemd', 'install.sh');

export const UNIT_TEMPLATE = path.join(ROOT, 'deploy', 'systemd', 'kotel.service');

/** renders the unit into unitDir with `config` (install.sh --no-start), below `root` when given; returns the
 * unit file and what the script printed */
export function renderUnit(unitDir: string, config: string, root?: string): { unit: string; output: string } {
  const args = ['--unit-dir', unitDir, '--config', config, ...(root ? ['--root', root] : ['--no-start'])];
  const output = execFileSync(tool('bash'), [INSTALL_SCRIPT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { unit: path.join(root ?? '', unitDir, 'kotel.service'), output };
}

export function serviceDirectives(unitFile: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of fs.readFileSync(unitFile, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1];
    else if (section === 'Service') {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq).trim();
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
    }
  }
  return out;
}

/** the unit's capabilities, as setpriv names them (sys_admin, ...); the ambient set must be the bounding set */
export function unitCapabilities(unitFile: string): string[] {
  const d = serviceDirectives(unitFile);
  const list = (key: string) => (d.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
  const ambient = list('AmbientCapabilities').sort();
  const bounding = list('CapabilityBoundingSet').sort();
  if (ambient.join() !== bounding.join()) throw new Error(`AmbientCapabilities ${ambient} differ from CapabilityBoundingSet ${bounding}`);
  if (ambient.length === 0) throw new Error(`${unitFile} grants no capability`);
  return ambient.map((c) => c.replace(/^CAP_/, '').toLowerCase());
}

/** ExecStart= split into words (the unit quotes nothing: install.sh refuses paths that would need it) */
export function execStart(unitFile: string): string[] {
  const [cmd] = serviceDirectives(unitFile).get('ExecStart') ?? [];
  if (!cmd) throw new Error(`${unitFile} has no ExecStart=`);
  return cmd.split(/\s+/);
}

/** setpriv's argv prefix: user nobody (the unit's DynamicUser= is some unprivileged uid) with exactly `caps` */
export function setprivAs(caps: string[], uid = 65534): string[] {
  const set = caps.length ? `-all,${caps.map((c) => `+${c}`).join(',')}` : '-all';
  return [
    tool('setpriv'),
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    `--inh-caps=${set}`,
    `--ambient-caps=${set}`,
    `--bounding-set=${set}`,
  ];
}

/** kotel_probe_attached by "family/probe" from the agent's Prometheus endpoint, once it answers */
export async function probesAttached(port: number, deadline: number): Promise<Map<string, number>> {
  for (;;) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const values = new Map<string, number>();
      for (const m of text.matchAll(/^kotel_probe_attached\{kotel_family="(\w+)",kotel_probe="([^"]+)"[^}]*\} (\d+)$/gm))
        values.set(`${m[1]}/${m[2]}`, Number(m[3]));
      if (values.size > 0) return values;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no kotel_probe_attached on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
