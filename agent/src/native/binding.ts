// Finds and loads the native addon (native/build/Release/kotel_native.node) and hands it its error class.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BpfError } from './BpfError';
import type { NativeBinding } from './native';

const ADDON = path.join('native', 'build', 'Release', 'kotel_native.node');

/** Candidate paths: KOTEL_NATIVE_PATH, then the repo root seen from dist/agent/src/native (after tsc) or
 * from agent/src/native (ts-node and the like). */
function candidates(): string[] {
  const list: string[] = [];
  if (process.env.KOTEL_NATIVE_PATH) list.push(path.resolve(process.env.KOTEL_NATIVE_PATH));
  list.push(path.resolve(__dirname, '..', '..', '..', '..', ADDON)); // dist/agent/src/native -> repo root
  list.push(path.resolve(__dirname, '..', '..', '..', ADDON)); // agent/src/native -> repo root
  return list;
}

function load(): NativeBinding {
  const tried = candidates();
  for (const file of tried) {
    if (!fs.existsSync(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    binding.setErrorClass(BpfError);
    return binding;
  }
  throw new Error(
    `kotel native addon not found (looked in ${tried.join(', ')}); build it with ` + '`npx node-gyp configure build --directory=native`',
  );
}

/** The addon, loaded once on first import. */
export const native: NativeBinding = load();
