// The real agent with some families, as most family suites run it: OTLP to a receiver in the test,
// Prometheus on a free port (what the suites scrape).
import { startAgent, freePort, testAgentConfig, type AgentProcess } from './agentProcess';
import { startOtlpReceiver } from './otlpReceiver';
import type { Receiver } from './points';

export interface ScrapedAgent {
  receiver: Receiver;
  agent: AgentProcess;
  /** its Prometheus port */
  port: number;
  stop(): Promise<void>;
}

/** resolves once the agent runs (`families`: the --families list; env: more of its environment) */
export async function startScrapedAgent(families: string, env: NodeJS.ProcessEnv = {}): Promise<ScrapedAgent> {
  const receiver = await startOtlpReceiver();
  const port = await freePort();
  const agent = startAgent(
    ['run', '--config', testAgentConfig({ grpcPort: receiver.grpcPort, promPort: port }), '--families', families],
    env,
  );
  await agent.waitFor(/kotel running/, 30_000);
  return {
    receiver,
    agent,
    port,
    async stop() {
      await agent.stop();
      await receiver.close();
    },
  };
}
