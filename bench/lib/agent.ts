// The agent under test: the real CLI (dist/agent/src/cli.js) as a child process with a bench config.
import { freePort, startAgent, writeConfig, type AgentProcess } from '../../test/helpers/agentProcess';
import { cpuSeconds, rssMb } from './proc';

export interface BenchAgent extends AgentProcess {
  pid: number;
  promPort?: number;
  cpuSeconds(): number;
  rssMb(): number;
}

export interface BenchAgentOptions {
  families: string[];
  /** OTLP gRPC endpoint (host:port); none: no OTLP */
  otlp?: string;
  metricsIntervalMs?: number;
  prometheus?: boolean;
  /** more config lines (YAML), e.g. a family's map sizes */
  extraConfig?: string[];
  /** the console report on stdout, at its default interval */
  console?: boolean;
}

/** starts the agent with only `families` on and waits until it runs */
export async function startBenchAgent(o: BenchAgentOptions): Promise<BenchAgent> {
  const promPort = o.prometheus ? await freePort() : undefined;
  const config = writeConfig(
    [
      `otlp:`,
      `  enabled: ${o.otlp ? 'true' : 'false'}`,
      o.otlp ? `  endpoint: "http://${o.otlp}"\n  protocol: grpc` : '',
      `metrics:\n  interval: ${o.metricsIntervalMs ?? 10000}`,
      `prometheus:\n  enabled: ${promPort ? 'true' : 'false'}${promPort ? `\n  port: ${promPort}` : ''}`,
      `console:\n  enabled: ${o.console ? 'true' : 'false'}`,
      `log:\n  level: warn`,
      ...(o.extraConfig ?? []),
    ]
      .filter(Boolean)
      .join('\n'),
  );
  // --families turns every other family off; info level only for the "kotel running" line
  const agent = startAgent(['run', '--config', config, '--families', o.families.join(','), '--log-level', 'info']);
  await agent.waitFor(/kotel running/, 60_000);
  const pid = agent.child.pid!;
  return { ...agent, pid, promPort, cpuSeconds: () => cpuSeconds(pid), rssMb: () => rssMb(pid) };
}
