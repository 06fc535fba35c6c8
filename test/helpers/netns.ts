// Two test hosts on this machine: network namespaces joined by a veth pair, made and removed by the test.
// Traffic stays inside them (10.77.0.1 <-> 10.77.0.2 exist only in these namespaces).
import { execFileSync } from 'node:child_process';
import { explainShellError } from './tools';

export const CLIENT_NS = 'kotel-cli';
export const SERVER_NS = 'kotel-srv';
export const CLIENT_ADDR = '10.77.0.1';
export const SERVER_ADDR = '10.77.0.2';

export function sh(cmd: string, input?: string): string {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    throw explainShellError(err);
  }
}

export function createTestHosts(): void {
  removeTestHosts();
  sh(`ip netns add ${CLIENT_NS} && ip netns add ${SERVER_NS}`);
  sh(`ip link add kotel-c type veth peer name kotel-s`);
  sh(`ip link set kotel-c netns ${CLIENT_NS} && ip link set kotel-s netns ${SERVER_NS}`);
  sh(
    `ip -n ${CLIENT_NS} addr add ${CLIENT_ADDR}/24 dev kotel-c && ip -n ${CLIENT_NS} link set kotel-c up && ip -n ${CLIENT_NS} link set lo up`,
  );
  sh(
    `ip -n ${SERVER_NS} addr add ${SERVER_ADDR}/24 dev kotel-s && ip -n ${SERVER_NS} link set kotel-s up && ip -n ${SERVER_NS} link set lo up`,
  );
}

export function removeTestHosts(): void {
  for (const ns of [CLIENT_NS, SERVER_NS]) {
    try {
      sh(`ip netns del ${ns} 2>/dev/null`);
    } catch {
      /* not there */
    }
  }
}

/** shapes what the client sends: a token bucket that queues up to `latencyMs` of data */
export function shapeClientEgress(rate: string, latencyMs: number): void {
  sh(`tc -n ${CLIENT_NS} qdisc replace dev kotel-c root tbf rate ${rate} burst 16kb latency ${latencyMs}ms`);
}

/** drops the first SYN from each client address to `port` on the server (nftables set with timeout) */
export function dropFirstSyn(port: number): void {
  sh(
    `ip netns exec ${SERVER_NS} nft -f -`,
    `
table inet kotel_test {
  set seen { type ipv4_addr; timeout 5m; }
  chain input {
    type filter hook input priority 0;
    tcp dport ${port} tcp flags & (syn | ack) == syn ip saddr @seen accept
    tcp dport ${port} tcp flags & (syn | ack) == syn add @seen { ip saddr } counter drop
  }
}
`,
  );
}

/** packets the dropFirstSyn rule dropped (nft's own counter) */
export function droppedSyns(): number {
  const out = sh(`ip netns exec ${SERVER_NS} nft list chain inet kotel_test input`);
  const m = /counter packets (\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}
