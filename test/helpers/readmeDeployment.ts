// What the README's "Deployment" section tells a user to run: its capability table and its `docker run`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './deploy';

export interface DockerRun {
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  /** -v SOURCE:TARGET[:MODE] as written */
  mounts: string[];
  pidHost: boolean;
  cgroupnsHost: boolean;
  image: string;
}

export function readmeDeployment(): { section: string; capabilityTable: string[]; dockerRun: DockerRun } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Deployment\n')[1]?.split('\n## ')[0];
  if (!section) throw new Error('README has no section "Deployment"');
  const lines = section.split('\n');
  const header = lines.findIndex((l) => l.startsWith('| capability |'));
  if (header < 0) throw new Error('README Deployment: no capability table');
  const capabilityTable: string[] = [];
  for (const l of lines.slice(header + 2)) {
    const m = /^\| `([A-Z_]+)` \|/.exec(l);
    if (!m) break;
    capabilityTable.push(m[1]);
  }
  const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('docker run'));
  if (!block) throw new Error('README Deployment: no ```sh block with docker run');
  const words = block
    .replace(/\\\n/g, ' ')
    .split('\n')
    .find((l) => l.trim().startsWith('docker run'))!
    .replace(/#.*$/, '')
    .trim()
    .split(/\s+/);
  const run: DockerRun = { capAdd: [], capDrop: [], securityOpt: [], mounts: [], pidHost: false, cgroupnsHost: false, image: '' };
  for (let i = 2; i < words.length; i++) {
    const [flag, inline] = words[i].split(/=(.*)/s);
    const value = () => inline ?? words[++i];
    if (flag === '--cap-add') run.capAdd.push(value());
    else if (flag === '--cap-drop') run.capDrop.push(value());
    else if (flag === '--security-opt') run.securityOpt.push(value());
    else if (flag === '-v' || flag === '--volume') run.mounts.push(value());
    else if (flag === '--pid') run.pidHost = value() === 'host';
    else if (flag === '--cgroupns') run.cgroupnsHost = value() === 'host';
    else if (['-p', '-e', '--name', '--publish', '--env', '--restart'].includes(flag)) value();
    else if (!flag.startsWith('-')) run.image = flag;
  }
  return { section, capabilityTable, dockerRun: run };
}
