/** A real pino logger whose JSON lines are kept in memory. */
import type { Logger } from 'pino';
import { createLogger } from '../../agent/src/log';

export interface CapturedLog {
  level: string;
  msg: string;
}

export function captureLogger(level = 'debug'): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const logger = createLogger(level, {
    write(s: string) {
      for (const l of s.split('\n')) {
        if (!l.trim()) continue;
        const o = JSON.parse(l) as { level: string; msg: string };
        lines.push({ level: o.level, msg: o.msg });
      }
    },
  });
  return { logger, lines };
}
