// Block map kinds (bpf/blockio.h: op | minor << 3 | major << 20) to attributes: the operation and the disk's name.
import type { Attributes } from '@opentelemetry/api';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLOCKIO_ATTR } from './semconv';

/** enum block_op, by value */
export const BLOCK_OPS = ['read', 'write', 'flush', 'discard', 'other'];

export function splitBlockKind(kind: number): { op: string; major: number; minor: number } {
  return { op: BLOCK_OPS[kind & 7] ?? `op_${kind & 7}`, minor: (kind >>> 3) & 0x1ffff, major: kind >>> 20 };
}

/** a disk's name as /sys/block lists it (vda, nvme0n1), from /sys/dev/block/<major>:<minor>; undefined if gone */
export function diskName(major: number, minor: number, sysDevBlock = '/sys/dev/block'): string | undefined {
  try {
    return path.basename(fs.readlinkSync(`${sysDevBlock}/${major}:${minor}`));
  } catch {
    return undefined;
  }
}

/** kind → attributes; each disk's name is read once ("major:minor" when it has none now) */
export function blockAttributesOf(nameOf: (major: number, minor: number) => string | undefined = diskName) {
  const names = new Map<string, string>();
  return (kind: number): Attributes => {
    const { op, major, minor } = splitBlockKind(kind);
    const dev = `${major}:${minor}`;
    if (!names.has(dev)) names.set(dev, nameOf(major, minor) ?? dev);
    return { [BLOCKIO_ATTR.device]: names.get(dev)!, [BLOCKIO_ATTR.operation]: op };
  };
}
