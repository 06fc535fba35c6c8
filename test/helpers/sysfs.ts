// A fake sysfs tree of RDMA devices for unit tests: <root>/class/infiniband/<device>/ports/<port>/gids/<index>.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** gids: device -> "port/index" -> GID text; returns the root and a remove() */
export function fakeSysfs(gids: Record<string, Record<string, string>>): { root: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-sysfs-'));
  for (const [device, byPortIndex] of Object.entries(gids)) {
    fs.mkdirSync(path.join(root, 'class', 'infiniband', device), { recursive: true });
    for (const [at, gid] of Object.entries(byPortIndex)) {
      const [port, index] = at.split('/');
      const dir = path.join(root, 'class', 'infiniband', device, 'ports', port, 'gids');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, index), `${gid}\n`);
    }
  }
  return { root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
