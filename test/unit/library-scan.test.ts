// The incremental scan for containers' own libibverbs files (agent/src/probes/rdma/libraryScan.ts): which
// files get hooks, when they are let go, and which /proc files each scan reads. /proc is a stand-in here, a
// temporary directory in the real formats of /proc/PID/stat and /proc/PID/maps, with <pid>/root a symlink
// to a stand-in image (as the real root is a link into the process's mount namespace) holding a real file,
// so identities are real dev:inode pairs. The hooks are stand-ins that record their calls (real uprobes on
// a container's library: test/integration/rdma.test.ts).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fileIdentity } from '../../agent/src/probes/rdma/library';
import { LibraryScanner, type LibraryHooks } from '../../agent/src/probes/rdma/libraryScan';

const LIB = '/usr/lib/x86_64-linux-gnu/libibverbs.so.1';
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const APP = '/usr/bin/rdma-app';

interface Proc {
  comm?: string;
  /** field 22, clock ticks since boot */
  start?: number;
  /** field 23, bytes */
  vsize?: number;
  /** field 28 */
  startstack?: number;
  /** the stand-in image its root links to */
  image: string;
  /** paths it maps */
  maps: string[];
}

/** A stand-in /proc tree and the images the processes' roots link to. */
class StandInProc {
  readonly base = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-libscan-'));
  readonly root = path.join(this.base, 'proc');

  constructor() {
    fs.mkdirSync(this.root);
    // non-process entries of the real /proc: never taken for processes
    fs.mkdirSync(path.join(this.root, 'sys'));
    fs.symlinkSync('100', path.join(this.root, 'self'));
  }

  /** an image (a container's root) holding its own copy of the library, libc and the app */
  image(name: string): string {
    const dir = path.join(this.base, 'images', name);
    for (const p of [LIB, LIBC, APP]) {
      fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), `stand-in ${p} of image ${name}\n`);
    }
    return dir;
  }

  /** writes (or rewrites) process `pid` */
  process(pid: number, p: Proc): void {
    const dir = path.join(this.root, String(pid));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'stat'),
      statLine(pid, p.comm ?? 'rdma-app', p.start ?? 5000, p.vsize ?? 3133440, p.startstack ?? 140736398637968),
    );
    fs.writeFileSync(path.join(dir, 'maps'), mapsText(p.image, p.maps));
    fs.rmSync(path.join(dir, 'root'), { force: true });
    fs.symlinkSync(p.image, path.join(dir, 'root'));
  }

  exit(pid: number): void {
    fs.rmSync(path.join(this.root, String(pid)), { recursive: true });
  }

  /** the path the scan reaches `pid`'s library by */
  lib(pid: number): string {
    return `${this.root}/${pid}/root${LIB}`;
  }

  remove(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

/** /proc/PID/stat as proc(5) lays it out: 52 fields, the command name in parentheses (it may hold both) */
function statLine(pid: number, comm: string, start: number, vsize: number, startstack: number): string {
  const code = vsize === 0 ? [0, 0] : [94416587898880, 94416587918761];
  // fields 1 and 2 apart
  const fields: (number | string)[] = [
    'S',
    1,
    pid,
    pid,
    0,
    -1,
    4194560,
    98,
    0,
    0,
    0,
    3,
    1,
    0,
    0,
    20,
    0,
    1,
    0, // 3..21
    start,
    vsize,
    vsize === 0 ? 0 : 383,
    '18446744073709551615',
    ...code,
    startstack, // 22..28
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    17,
    1,
    0,
    0,
    0,
    0,
    0, // 29..44
    94416587934768,
    94416587936384,
    94417291563008,
    140736398641874,
    140736398641894,
    140736398641894,
    140736398643179,
    0, // 45..52
  ];
  assert.equal(fields.length, 50);
  return `${pid} (${comm}) ${fields.join(' ')}\n`;
}

/** /proc/PID/maps: a read-only, an executable, a relro and a data mapping of each file, with its real
 * device and inode, then the heap and the stack */
function mapsText(image: string, files: string[]): string {
  const lines: string[] = [];
  let at = 0x7f1c2a000000;
  for (const file of files) {
    const st = fs.statSync(path.join(image, file));
    const dev = `${hex((st.dev >> 8) & 0xfff, 2)}:${hex((st.dev & 0xff) | ((st.dev >> 12) & 0xfff00), 2)}`;
    for (const [perms, size] of [
      ['r--p', 0x4000],
      ['r-xp', 0x10000],
      ['r--p', 0x3000],
      ['rw-p', 0x1000],
    ] as const) {
      const offset = at - 0x7f1c2a000000;
      lines.push(`${hex(at, 8)}-${hex(at + size, 8)} ${perms} ${hex(offset, 8)} ${dev} ${st.ino}`.padEnd(73) + file);
      at += size;
    }
    at += 0x100000;
  }
  lines.push('55af14e2d000-55af14e4e000 rw-p 00000000 00:00 0'.padEnd(73) + '[heap]');
  lines.push('7ffd5a3c1000-7ffd5a3e2000 rw-p 00000000 00:00 0'.padEnd(73) + '[stack]');
  return lines.map((l) => `${l}\n`).join('');
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

type Call = { attach: string; links: number[] } | { detach: number[] };

/** stand-in hooks: record each call; attach returns two new link ids (a _in and an _out) */
function recordingHooks(): LibraryHooks & { calls: Call[]; infos: string[]; warnings: string[]; take(): Call[] } {
  let next = 1;
  const calls: Call[] = [];
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    calls,
    infos,
    warnings,
    attach(file) {
      const links = [next++, next++];
      calls.push({ attach: file, links });
      return links;
    },
    detach(links) {
      calls.push({ detach: links });
    },
    info(msg) {
      infos.push(msg);
    },
    warn(msg) {
      warnings.push(msg);
    },
    /** the calls since the last take() */
    take() {
      return calls.splice(0);
    },
  };
}

let proc: StandInProc;
beforeEach(() => {
  proc = new StandInProc();
});
afterEach(() => proc.remove());

test('a new process mapping its own copy is hooked once; a second process mapping the same file adds no second set; the host library is never hooked here', async () => {
  const host = proc.image('host');
  const image = proc.image('a');
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, fileIdentity(path.join(host, LIB)), proc.root);
  proc.process(90, { image: host, maps: [APP, LIB, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 3, mapsRead: 1 }, 'listing, stat and maps of 90');
  assert.deepEqual(hooks.take(), [], 'the host library is hooked by the family itself');

  proc.process(100, { image, maps: [APP, LIB, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 4, mapsRead: 1 }, 'maps of the new process only');
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [1, 2] }]);
  assert.ok(
    hooks.infos.includes(`rdma: attached to another ${proc.lib(100)} (${fileIdentity(path.join(image, LIB))}) found in ${proc.lib(100)}`),
    hooks.infos.join('\n'),
  );

  proc.process(101, { image, maps: [APP, LIB, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 3, filesRead: 5, mapsRead: 1 });
  assert.deepEqual(hooks.take(), [], 'one file, one set of hooks');
  assert.match(hooks.infos.at(-1) ?? '', new RegExp(`^rdma: ${proc.lib(101)} is ${proc.lib(100)} \\(\\d+:\\d+\\), already hooked$`));
  assert.deepEqual(hooks.warnings, []);
});

test('steady state: with no /proc/PID/stat changed, no maps is read and nothing attached or detached', async () => {
  const image = proc.image('a');
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  proc.process(100, { image, maps: [APP, LIB] });
  proc.process(101, { image: proc.image('b'), maps: [APP, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 5, mapsRead: 2 });
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [1, 2] }]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 3, mapsRead: 0 }, `scan ${i + 2}: the listing and two stat files`);
    assert.deepEqual(hooks.take(), []);
  }
});

test('a process that loads the library later (dlopen: its virtual size grows) is hooked at the next scan; one that execs (new start of stack) is read again', async () => {
  const image = proc.image('a');
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  proc.process(100, { image, vsize: 3133440, maps: [APP, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 3, mapsRead: 1 });
  assert.deepEqual(hooks.take(), []);

  proc.process(100, { image, vsize: 3133440 + 0x19000, maps: [APP, LIBC, LIB] });
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 3, mapsRead: 1 }, 'maps read again after the size changed');
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [1, 2] }]);

  // exec of a program without the library, to the same virtual size
  proc.process(100, { image, vsize: 3133440 + 0x19000, startstack: 140736398700000, maps: [APP, LIBC] });
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 3, mapsRead: 1 }, 'maps read again after an exec');
  assert.deepEqual(hooks.take(), [{ detach: [1, 2] }]);
});

test('pid reuse: same pid, new start time, another image: the new file is hooked, the old one let go or held through its other mapper', async () => {
  const [a, b, c] = ['a', 'b', 'c'].map((n) => proc.image(n));
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  proc.process(100, { image: a, start: 5000, maps: [APP, LIB] });
  await scanner.scan();
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [1, 2] }]);

  // same size and start of stack: only the start time tells
  proc.process(100, { image: b, start: 6000, maps: [APP, LIB] });
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 3, mapsRead: 1 });
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [3, 4] }, { detach: [1, 2] }], 'b hooked, a (no one maps it) let go');

  // image b is also mapped by 101 when pid 100 is reused again: b stays hooked, now through 101's root
  proc.process(101, { image: b, start: 5500, maps: [APP, LIB] });
  await scanner.scan();
  assert.deepEqual(hooks.take(), []);
  proc.process(100, { image: c, start: 7000, maps: [APP, LIB] });
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 4, mapsRead: 1 });
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [5, 6] }, { attach: proc.lib(101), links: [7, 8] }, { detach: [3, 4] }]);
  assert.deepEqual(hooks.warnings, []);
});

test('exits: the process whose root the hooks hold exits while another maps the file → hooked again through the survivor; the last mapper exits → let go', async () => {
  const image = proc.image('a');
  const id = fileIdentity(path.join(image, LIB));
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  proc.process(100, { image, maps: [APP, LIB] });
  await scanner.scan();
  proc.process(101, { image, start: 5100, maps: [APP, LIB] });
  await scanner.scan();
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(100), links: [1, 2] }]);

  proc.exit(100);
  assert.deepEqual(await scanner.scan(), { processes: 1, filesRead: 2, mapsRead: 0 }, 'an exit is learnt from the listing');
  assert.deepEqual(
    hooks.take(),
    [{ attach: proc.lib(101), links: [3, 4] }, { detach: [1, 2] }],
    'attached through 101 before the old links go',
  );
  assert.equal(
    hooks.infos.at(-1),
    `rdma: ${proc.lib(100)} (${id}) now hooked through process 101: process 100, whose mount held it, exited`,
  );

  proc.exit(101);
  assert.deepEqual(await scanner.scan(), { processes: 0, filesRead: 1, mapsRead: 0 });
  assert.deepEqual(hooks.take(), [{ detach: [3, 4] }]);
  assert.equal(hooks.infos.at(-1), `rdma: detached from ${proc.lib(101)} (${id}): no process maps it any more`);
  assert.deepEqual(await scanner.scan(), { processes: 0, filesRead: 1, mapsRead: 0 });
  assert.deepEqual(hooks.take(), [], 'detached once');
});

test('a kernel thread (virtual size 0) has no maps read; a command name like "a) (b" is parsed', async () => {
  const image = proc.image('a');
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  // stand-in maps naming the library: a read of a kernel thread's maps would show as a hook
  proc.process(2, { comm: 'kthreadd', start: 9, vsize: 0, startstack: 0, image, maps: [LIB] });
  proc.process(300, { comm: 'a) (b', image, vsize: 3133440, maps: [APP, LIB] });
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 4, mapsRead: 1 }, 'maps of 300 only');
  assert.deepEqual(hooks.take(), [{ attach: proc.lib(300), links: [1, 2] }]);
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 3, mapsRead: 0 });

  // dlclose: the size shrinks, the library is gone from the maps
  proc.process(300, { comm: 'a) (b', image, vsize: 3133440 - 0x19000, maps: [APP] });
  assert.deepEqual(await scanner.scan(), { processes: 2, filesRead: 4, mapsRead: 1 });
  assert.deepEqual(hooks.take(), [{ detach: [1, 2] }]);
});

test('close() lets go of every file; a scan after it reads no stat or maps and hooks nothing', async () => {
  const hooks = recordingHooks();
  const scanner = new LibraryScanner(hooks, undefined, proc.root);
  proc.process(100, { image: proc.image('a'), maps: [APP, LIB] });
  proc.process(101, { image: proc.image('b'), maps: [APP, LIB] });
  await scanner.scan();
  const attached = hooks.take();
  assert.equal(attached.length, 2);
  scanner.close();
  const detached = hooks.take();
  assert.deepEqual(
    detached.map((c) => ('detach' in c ? c.detach : [])).sort((x, y) => x[0] - y[0]),
    [
      [1, 2],
      [3, 4],
    ],
    'both sets detached',
  );
  proc.process(102, { image: proc.image('c'), maps: [APP, LIB] });
  assert.deepEqual(await scanner.scan(), { processes: 0, filesRead: 1, mapsRead: 0 });
  assert.deepEqual(hooks.take(), []);
});
