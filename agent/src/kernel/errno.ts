// errno values the kernel reports (negative returns, sk_err), named as <errno.h> names them.
import { constants } from 'node:os';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** 'ECONNREFUSED' for 111 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno_${errno}`;
}
