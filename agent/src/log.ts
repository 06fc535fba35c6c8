import pino, { Logger, DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config';

export type { Logger };

/**
 * The agent's logger on stderr (stdout belongs to the console report and to `kotel probes`): readable
 * lines on a terminal, JSON lines otherwise (journald, containers, log shippers).
 * `destination` is for tests (capture the output); it defaults to a synchronous stderr stream so that a
 * fatal line is written before the process exits.
 */
export function createLogger(level: LogLevel | string = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'kotel',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ??
      (process.stderr.isTTY
        ? pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss' })
        : pino.destination({ fd: 2, sync: true })),
  );
}
