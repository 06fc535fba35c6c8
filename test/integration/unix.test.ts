// The Unix-socket family end to end: the real agent, scraped over Prometheus, against a Unix stream socket
// ping-pong whose server and client, each in its own cgroup, time their own turns (the server each answer,
// from its read's return to its write's return; the client each round trip, from before its write to its
// read's return).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startScrapedAgent, type ScrapedAgent } from '../helpers/scrapedAgent';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { scrape } from '../helpers/scrape';
import { TIME_SCALE } from '../helpers/timing';

const ROUNDS = 2000;
const SIZE = 64;

interface Timed {
  rounds: number;
  sum_ns: number;
  min_ns: number;
  max_ns: number;
}

/** count and sum (s) of one histogram of one cgroup */
async function histogramOf(port: number, name: string, cgroupId: number): Promise<{ count: number; sum: number }> {
  const out = { count: 0, sum: 0 };
  for (const s of await scrape(port)) {
    if (s.labels.cgroup_id !== String(cgroupId)) continue;
    if (s.name === `${name}_count`) out.count = s.value;
    if (s.name === `${name}_sum`) out.sum = s.value;
  }
  return out;
}

describe('unix family: request/response turns on a Unix stream socket (root, real kernel, Prometheus scrape)', () => {
  let kotel: ScrapedAgent;
  let port: number;
  const cgroups: TestCgroup[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-unix-'));

  before(async () => {
    buildWorkload('uds-pingpong');
    kotel = await startScrapedAgent('unix');
    port = kotel.port;
  });

  after(async () => {
    await kotel?.stop();
    for (const cg of cgroups) cg.remove();
    fs.rmSync(dir, { recursive: true, force: true });
    removeWorkloads();
  });

  test(`${ROUNDS} round trips of ${SIZE} bytes: the client's requests in its cgroup, the server's responses in its own, as long as each timed them`, async () => {
    const [serverCg, clientCg] = [createCgroup('unix-server'), createCgroup('unix-client')];
    cgroups.push(serverCg, clientCg);
    const sock = path.join(dir, 'pingpong.sock');
    const pingpong = buildWorkload('uds-pingpong');
    const server = serverCg.spawn(pingpong, ['server', sock, String(ROUNDS), String(SIZE)]);
    let serverOut = '';
    server.stdout!.on('data', (d) => (serverOut += d));
    const serverDone = new Promise<number | null>((r) => server.on('exit', r));
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', () => serverOut.includes('listening') && resolve());
      server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const client = JSON.parse(await runIn(clientCg, pingpong, ['client', sock, String(ROUNDS), String(SIZE)])) as Timed;
    assert.equal(await serverDone, 0, serverOut);
    const answered = JSON.parse(serverOut.split('\n')[1]) as Timed;
    assert.equal(client.rounds, ROUNDS);

    const requests = await histogramOf(port, 'unix_request_duration_seconds', clientCg.id);
    const responses = await histogramOf(port, 'unix_response_duration_seconds', serverCg.id);
    console.log(
      `# kotel requests ${JSON.stringify(requests)}, responses ${JSON.stringify(responses)}; client ${JSON.stringify(client)}, server ${JSON.stringify(answered)}`,
    );
    assert.equal(requests.count, ROUNDS, 'a request per round trip, in the client cgroup');
    assert.equal(responses.count, ROUNDS, 'a response per round trip, in the server cgroup');
    assert.equal((await histogramOf(port, 'unix_response_duration_seconds', clientCg.id)).count, 0, 'no responses on the client side');
    assert.equal((await histogramOf(port, 'unix_request_duration_seconds', serverCg.id)).count, 0, 'no requests on the server side');
    // kotel's request starts when the write returns, the client's clock before it: shorter by each write
    const clientS = client.sum_ns / 1e9;
    assert.ok(
      requests.sum <= clientS && requests.sum >= clientS - ROUNDS * 10e-6 * TIME_SCALE,
      `requests: kotel ${requests.sum} s, the client timed ${clientS} s`,
    );
    // the server's turn and kotel's both run from the read's return to the write's return
    const serverS = answered.sum_ns / 1e9;
    assert.ok(
      Math.abs(responses.sum - serverS) <= ROUNDS * 5e-6 * TIME_SCALE,
      `responses: kotel ${responses.sum} s, the server timed ${serverS} s`,
    );
  });
});
