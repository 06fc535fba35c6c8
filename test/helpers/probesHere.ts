// What `kotel probes` (as root, default config) finds this kernel cannot attach: only probes whose one rung
// is fentry/fexit may miss (this VM's kernel has no BPF trampolines; Debian's have them), anything else
// fails the caller's test.
import { strict as assert } from 'node:assert';
import { runCli } from './agentProcess';

interface Row {
  family: string;
  probe: string;
  status: string;
  reason?: string;
}

/** `family/probe` of each enabled probe that cannot attach here for want of a BPF trampoline */
export async function trampolineOnlyMisses(): Promise<Set<string>> {
  const { stdout } = await runCli(['probes', '--json']);
  const rows = (JSON.parse(stdout) as Row[]).filter((r) => r.status === 'unavailable');
  for (const r of rows) assert.match(r.reason ?? '', /^(fentry|fexit): [^;]*$/, `${r.family} ${r.probe} unavailable: ${r.reason}`);
  return new Set(rows.map((r) => `${r.family}/${r.probe}`));
}
