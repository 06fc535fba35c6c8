import { native } from './binding';
import type { BpfObject as BpfObjectClass, OpenOptions } from './native';
import { checkOpenOptions } from './openOptions';

export { native } from './binding';
export type {
  AttachReport,
  FieldLayout,
  HookKind,
  MapBatch,
  MapInfo,
  NativeBinding,
  NonzeroBatch,
  OpenOptions,
  ProgStats,
  RingBatchCallback,
  RingBuffer,
  Rung,
  RungFailure,
  SymbolInfo,
  TypeLayout,
} from './native';
export { BpfError } from './BpfError';

/** BpfObject.open(...): the addon's, with the options checked first (checkOpenOptions) */
export const BpfObject: Pick<typeof BpfObjectClass, 'open'> = {
  open(path: string, options: OpenOptions): BpfObjectClass {
    checkOpenOptions(path, options);
    return native.BpfObject.open(path, options);
  },
};
export type BpfObject = BpfObjectClass;
