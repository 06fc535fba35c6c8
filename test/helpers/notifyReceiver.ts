// An sd_notify receiver independent of kotel: python3's socket module bound to an AF_UNIX datagram socket (a
// path, or "@name" in the abstract namespace), as systemd's is. Each datagram comes back with its arrival time.
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { tool } from './tools';
import { scaled } from './timing';

const RECEIVER = `
import json, socket, sys, time
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + name[1:] if name.startswith('@') else name)
print(json.dumps({'bound': name}), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps({'at': time.time() * 1000, 'state': data.decode()}), flush=True)
`;

export interface Notification {
  /** ms since the epoch, when it arrived */
  at: number;
  /** the assignments, e.g. { READY: '1', STATUS: '...' } */
  fields: Record<string, string>;
}

export interface NotifyReceiver {
  socket: string;
  received(): Notification[];
  /** the first notification that sets `field` (polling every 25 ms) */
  waitFor(field: string, timeoutMs: number): Promise<Notification>;
  close(): void;
}

export async function startNotifyReceiver(socket: string): Promise<NotifyReceiver> {
  const child = spawn(tool('python3'), ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Notification[] = [];
  const lines = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`notify receiver exited ${code}`)));
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { bound?: string; at: number; state: string };
      if (msg.bound) return resolve();
      const fields = Object.fromEntries(msg.state.split('\n').map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
      received.push({ at: msg.at, fields });
    });
  });
  return {
    socket,
    received: () => received,
    async waitFor(field, unscaledMs) {
      const deadline = Date.now() + scaled(unscaledMs);
      for (;;) {
        const n = received.find((r) => field in r.fields);
        if (n) return n;
        if (Date.now() > deadline) throw new Error(`no ${field}= within ${scaled(unscaledMs)} ms: ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => child.kill(),
  };
}
