// systemd's notification protocol (sd_notify(3)) for a Type=notify unit: READY=1 once the agent is ready,
// STATUS= when what it reports changes, STOPPING=1 at shutdown, WATCHDOG=1 at half of WatchdogSec=.
// Without $NOTIFY_SOCKET (not started by systemd) there is no notifier.
import type { Logger } from 'pino';
import { native } from '../native';
import { UserError } from './privileges';

/** sockaddr_un.sun_path holds 108 bytes, the NUL of a path included */
const MAX_SOCKET_BYTES = 107;

export interface NotifyEnv {
  socket: string;
  /** WATCHDOG=1 every this many ms (half of WATCHDOG_USEC), when the watchdog is meant for this process */
  watchdogMs?: number;
}

/** $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID, checked; undefined without NOTIFY_SOCKET. Throws one line
 * naming the variable when one is malformed. */
export function notifyEnv(env: NodeJS.ProcessEnv, pid = process.pid): NotifyEnv | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') return undefined;
  if (!/^[/@]/.test(socket) || Buffer.byteLength(socket) > MAX_SOCKET_BYTES || socket.includes('\0'))
    throw new UserError(
      `NOTIFY_SOCKET=${JSON.stringify(socket)}: not an absolute path or @abstract name of at most ${MAX_SOCKET_BYTES} bytes ` +
        '(systemd sets it for Type=notify units; unset it when not running under systemd)',
    );
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return { socket };
  if (!/^[1-9]\d*$/.test(usec))
    throw new UserError(`WATCHDOG_USEC=${JSON.stringify(usec)}: not a positive number of microseconds (systemd sets it from WatchdogSec=)`);
  // sd_watchdog_enabled(3): a WATCHDOG_PID of another process means the watchdog is not ours
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return { socket };
  return { socket, watchdogMs: Math.max(1, Math.floor(Number(usec) / 2000)) };
}

export class SystemdNotifier {
  private watchdog?: NodeJS.Timeout;
  private warned = false;
  private lastStatus?: string;
  private readySent = false;
  private stopped = false;

  constructor(
    readonly env: NotifyEnv,
    private readonly logger: Logger,
  ) {
    if (env.watchdogMs) {
      this.watchdog = setInterval(() => this.send({ WATCHDOG: '1' }), env.watchdogMs);
      this.watchdog.unref();
    }
  }

  /** from the environment (which then loses the variables, so the agent's children do not notify) */
  static fromEnv(logger: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier | undefined {
    const parsed = notifyEnv(env);
    for (const v of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[v];
    return parsed && new SystemdNotifier(parsed, logger);
  }

  /** READY=1 the first time, with the status; STATUS= alone when only the status changed */
  ready(status: string): boolean {
    if (this.readySent) return this.status(status);
    this.readySent = this.send({ READY: '1', STATUS: status });
    this.lastStatus = status;
    return this.readySent;
  }

  /** STATUS= when it differs from the last one sent; extendMs: the start-up (or stop) may take that much longer */
  status(status: string, extendMs?: number): boolean {
    // after STOPPING=1 the stop's own status stands
    if (this.stopped || (status === this.lastStatus && extendMs === undefined)) return true;
    this.lastStatus = status;
    return this.send({ STATUS: status, ...(extendMs ? { EXTEND_TIMEOUT_USEC: String(Math.ceil(extendMs * 1000)) } : {}) });
  }

  stopping(status: string, extendMs?: number): boolean {
    this.close();
    this.stopped = true;
    return this.send({ STOPPING: '1', ...(extendMs ? { EXTEND_TIMEOUT_USEC: String(Math.ceil(extendMs * 1000)) } : {}), STATUS: status });
  }

  close(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private send(fields: Record<string, string>): boolean {
    // one assignment a line: a value cannot hold a newline
    const state = Object.entries(fields)
      .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}`)
      .join('\n');
    try {
      native.notify(this.env.socket, state);
      return true;
    } catch (err) {
      if (!this.warned) this.logger.warn(`systemd notification to ${this.env.socket} failed (logged once): ${(err as Error).message}`);
      this.warned = true;
      return false;
    }
  }
}
