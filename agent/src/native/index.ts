import { native } from './binding';
import type { BpfObject as BpfObjectClass } from './native';

export { native } from './binding';
export type {
  AttachReport,
  FieldLayout,
  HookKind,
  MapBatch,
  MapInfo,
  NativeBinding,
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

/** the addon's BpfObject class (a value: BpfObject.open(...)) */
export const BpfObject: typeof BpfObjectClass = native.BpfObject;
export type BpfObject = BpfObjectClass;
