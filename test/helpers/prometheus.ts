// A real Prometheus for tests: Debian's `prometheus` (2.42 on Debian 12) scraping the given targets on
// loopback, with its TSDB in a temporary directory, queried over its HTTP API as Grafana queries it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './agentProcess';
import { scaled } from './timing';
import { tool } from './tools';

export interface Series {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it] */
  values: Array<[number, string]>;
}

export interface Prometheus {
  url: string;
  scrapeSeconds: number;
  /** instant query at `time` (unix seconds), as a range of one point per series */
  query(expr: string, time: number): Promise<Series[]>;
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<Series[]>;
  labelValues(label: string, match?: string): Promise<string[]>;
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

export async function startPrometheus(targets: string[], scrapeSeconds: number): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:\n  scrape_interval: ${scrapeSeconds}s\n  scrape_timeout: ${scrapeSeconds}s\n` +
      `scrape_configs:\n  - job_name: kotel\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    tool('prometheus'),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));

  const api = async <T>(route: string, params: Record<string, string | number>): Promise<T> => {
    const res = await fetch(
      `${url}/api/v1/${route}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`,
    );
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success') throw new Error(`Prometheus refused ${route} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  };

  for (const deadline = Date.now() + scaled(30_000); ;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    scrapeSeconds,
    async query(expr, time) {
      const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('query', {
        query: expr,
        time,
      });
      return data.resultType === 'vector' ? data.result.map((r) => ({ metric: r.metric, values: [r.value] })) : [];
    },
    async queryRange(expr, start, end, stepSeconds) {
      const data = await api<{ result: Series[] }>('query_range', { query: expr, start, end, step: stepSeconds });
      return data.result;
    },
    labelValues: (label, match) => api<string[]>(`label/${label}/values`, match ? { 'match[]': match } : {}),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
