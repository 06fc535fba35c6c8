// RDMA device names in records come, on the user path, from the traced process's memory (ibv_device.name
// behind the verbs' arguments): any local user controls them, and kotel runs as root. A name becomes an
// attribute or part of a sysfs path only when it is one of the devices sysfs lists
// (<root>/class/infiniband); any other is OTHER_DEVICE, and each distinct one is counted once as an
// invalid_value drop.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const OTHER_DEVICE = '_OTHER';
/** IB_DEVICE_NAME_MAX is 64 with the NUL; names are what `rdma link` accepts */
const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
/** how often an unknown name may trigger a new listing (a device added after start) */
const RELIST_MS = 1000;
/** distinct refused names remembered (each counted once); beyond it every refusal counts */
const MAX_REFUSED = 1024;
/** a GID file holds 39 characters and a newline */
const GID_MAX_BYTES = 64;

export class RdmaDevices {
  private known = new Set<string>();
  private listedAt = -Infinity;
  private readonly refused = new Set<string>();

  constructor(
    private readonly sysfsRoot: string,
    private readonly onRefused: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** the name if it is a device here, else OTHER_DEVICE */
  name(raw: string): string {
    if (raw === '') return raw; // the kernel path's records for objects without a device
    if (DEVICE_NAME.test(raw) && (this.known.has(raw) || (this.relist() && this.known.has(raw)))) return raw;
    if (this.refused.size < MAX_REFUSED && !this.refused.has(raw)) {
      this.refused.add(raw);
      this.onRefused();
    } else if (this.refused.size >= MAX_REFUSED) {
      this.onRefused();
    }
    return OTHER_DEVICE;
  }

  /** the GID at <root>/class/infiniband/<device>/ports/<port>/gids/<index>, or undefined */
  gid(device: string, port: number, index: number): string | undefined {
    if (
      !this.known.has(device) ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 255 ||
      !Number.isInteger(index) ||
      index < 0 ||
      index > 0xffff
    )
      return undefined;
    const file = path.join(this.sysfsRoot, 'class', 'infiniband', device, 'ports', String(port), 'gids', String(index));
    let fd: number | undefined;
    try {
      // O_NONBLOCK: never wait on what is not a sysfs attribute; a bounded read
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const buf = Buffer.alloc(GID_MAX_BYTES);
      const n = fs.readSync(fd, buf, 0, GID_MAX_BYTES, 0);
      const text = buf.toString('latin1', 0, n).trim();
      return /^[0-9a-f]{4}(:[0-9a-f]{4}){7}$/.test(text) ? text : undefined;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  private relist(): boolean {
    if (this.now() - this.listedAt < RELIST_MS) return false;
    this.listedAt = this.now();
    try {
      this.known = new Set(fs.readdirSync(path.join(this.sysfsRoot, 'class', 'infiniband')));
    } catch {
      this.known = new Set();
    }
    return true;
  }
}
