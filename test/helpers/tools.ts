// The Debian packages the set-up installs (scripts/packages.txt), and the PATH check every test and bench
// run of an outside tool goes through: a missing tool fails with one line naming its package.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Purpose = 'run' | 'test' | 'bench';

export interface PackageLine {
  purpose: Purpose;
  pkg: string;
  /** executables (names or absolute paths) and py:MODULE entries; empty for libraries and headers */
  provides: string[];
}

export const PACKAGES_FILE = path.resolve(__dirname, '..', '..', '..', 'scripts', 'packages.txt');

export function packageLines(): PackageLine[] {
  return fs
    .readFileSync(PACKAGES_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [purpose, pkg, ...provides] = l.trim().split(/\s+/);
      return { purpose: purpose as Purpose, pkg, provides: provides.filter((p) => p !== '-') };
    });
}

/** the lines a purpose installs: its own and run's (scripts/setup.sh does the same) */
export function linesFor(purpose: Purpose): PackageLine[] {
  return packageLines().filter((l) => l.purpose === 'run' || l.purpose === purpose);
}

export function packageProviding(exe: string, purpose: Purpose): string | undefined {
  return linesFor(purpose).find((l) => l.provides.includes(exe))?.pkg;
}

/** the absolute path exe resolves to on PATH (or itself when absolute and present) */
export function onPath(exe: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const candidates = exe.includes('/')
    ? [exe]
    : searchPath
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, exe));
  return candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

const COMMAND = { run: 'npm start', test: 'npm test', bench: 'npm run bench' };

export function missingToolMessage(exe: string, purpose: Purpose): string {
  const pkg = packageProviding(exe, purpose);
  const fix = pkg
    ? `install the Debian package ${pkg} (\`${COMMAND[purpose]}\` does: scripts/setup.sh ${purpose})`
    : `no line of scripts/packages.txt provides it for ${purpose}: add one`;
  return `${exe} not found on PATH: ${fix}`;
}

/** exe itself when it can be run, else throws one line naming the Debian package that provides it */
export function tool(exe: string, purpose: Purpose = 'test'): string {
  if (onPath(exe)) return exe;
  throw new Error(missingToolMessage(exe, purpose));
}

/** the error of a `sh -c` run whose command was not found (exit 127), named with its package */
export function explainShellError(err: unknown, purpose: Purpose = 'test'): unknown {
  const e = err as { status?: number; stderr?: Buffer | string };
  const missing = e.status === 127 ? /: ([\w.+-]+): (?:command )?not found/.exec(String(e.stderr ?? '')) : null;
  return missing ? new Error(missingToolMessage(missing[1], purpose)) : err;
}

/** the Debian package that owns a file, whichever spelling dpkg knows it by (usrmerge: /usr/sbin or /sbin) */
export function dpkgOwner(file: string): string | undefined {
  const real = fs.realpathSync(file);
  const variants = [file, real].flatMap((f) => [f, f.replace(/^\/usr\//, '/'), f.startsWith('/usr/') ? f : `/usr${f}`]);
  for (const v of new Set(variants)) {
    try {
      const out = execFileSync('dpkg-query', ['-S', v], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const owner = out.split('\n').find((l) => l && !l.startsWith('diversion by'));
      if (owner) return owner.split(':')[0].split(',')[0].trim();
    } catch {
      /* not this spelling */
    }
  }
  return undefined;
}
