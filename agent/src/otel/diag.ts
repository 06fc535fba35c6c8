/**
 * Routes the OpenTelemetry SDK's own diagnostics to the agent's logger: diag at warn and above, and the
 * global error handler (which the SDK calls for every failed periodic export). Export failures are already
 * reported, once, by exportStatus.ts, so they go to debug here.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import type { Logger } from 'pino';
import { errorReason, reportedExportErrors } from './exportStatus';

function line(message: string, args: unknown[]): string {
  const rest = args.map((a) => (a instanceof Error ? errorReason(a) : typeof a === 'string' ? a : safeJson(a)));
  return ['otel:', message, ...rest].join(' ').split('\n')[0];
}

function safeJson(a: unknown): string {
  try {
    return JSON.stringify(a)?.slice(0, 300) ?? String(a);
  } catch {
    return String(a);
  }
}

const EXPORT_FAILURE =
  /export failed|UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED|Timeout|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|socket hang up|Concurrent export limit/i;

export function routeOtelDiagnostics(logger: Logger): void {
  const d: DiagLogger = {
    error: (m, ...a) => logger.error(line(m, a)),
    warn: (m, ...a) => logger.warn(line(m, a)),
    info: (m, ...a) => logger.debug(line(m, a)),
    debug: (m, ...a) => logger.trace(line(m, a)),
    verbose: (m, ...a) => logger.trace(line(m, a)),
  };
  diag.setLogger(d, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  setGlobalErrorHandler((err) => {
    const reason = errorReason(err);
    if ((typeof err === 'object' && err !== null && reportedExportErrors.has(err)) || EXPORT_FAILURE.test(reason)) {
      logger.debug(`otel: ${reason}`);
    } else {
      logger.warn(`otel: ${reason}`);
    }
  });
}
