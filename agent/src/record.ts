// `kotel record`: runs the enabled families for a fixed time, without exporters, and writes one JSON report
// (otel/report.ts). On a terminal, stderr shows a progress line (elapsed, events so far, drops); piped, none.
// SIGINT/SIGTERM end the recording early: the report covers what was recorded.
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { KotelConfig } from './config';
import { parseDurationMs } from './config/formats';
import { UserError } from './host/privileges';
import type { Report, ReportHistogramPoint, ReportValuePoint } from './otel/report';

export interface RecordOptions {
  durationMs: number;
  /** a file path, or '-' for stdout */
  output: string;
  /** where the progress line goes when it is a terminal (tests) */
  progress?: NodeJS.WriteStream;
}

/** "60s", "2m", "500ms", "1h" or seconds; undefined when it is none of these or not above zero */
export function parseDuration(text: string): number | undefined {
  const ms = parseDurationMs(text, 's');
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** the families' events so far (histogram counts and counter values) and the drops, for the progress line */
export function reportTotals(report: Report): { events: number; drops: number } {
  let events = 0;
  for (const family of Object.values(report.families))
    for (const m of family.metrics)
      if (m.type === 'histogram') events += (m.points as ReportHistogramPoint[]).reduce((n, p) => n + p.count, 0);
      else if (m.type === 'counter') events += (m.points as ReportValuePoint[]).reduce((n, p) => n + p.value, 0);
  return { events, drops: report.drops.reduce((n, d) => n + d.count, 0) };
}

/** opens the output now, so a path that cannot be written fails before the recording, not after it */
function openOutput(output: string): number {
  if (output === '-') return 1;
  try {
    return fs.openSync(output, 'w');
  } catch (e) {
    throw new UserError(`--output ${output}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function record(config: KotelConfig, logger: Logger, o: RecordOptions): Promise<Report> {
  const fd = openOutput(o.output);
  const { Agent } = await import('./Agent');
  const agent = new Agent(config, logger);
  const progress = o.progress ?? process.stderr;
  const tty = progress.isTTY === true;
  let timer: NodeJS.Timeout | undefined;
  let endEarly: () => void = () => undefined;
  const onSignal = () => endEarly();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await agent.start();
    const started = Date.now();
    const line = async () => {
      const { events, drops } = reportTotals(await agent.report());
      const s = Math.floor((Date.now() - started) / 1000);
      progress.write(`\rkotel record: ${s} s of ${Math.round(o.durationMs / 1000)} s, ${events} events, ${drops} drops\x1b[K`);
    };
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, o.durationMs);
      endEarly = () => {
        clearTimeout(done);
        resolve();
      };
      if (tty) timer = setInterval(() => void line().catch(() => undefined), 1000);
    });
    if (timer) clearInterval(timer);
    const report = await agent.report();
    if (tty) progress.write('\n');
    fs.writeSync(fd, JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (fd !== 1) fs.closeSync(fd);
    await agent.shutdown();
  }
}
