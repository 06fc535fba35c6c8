// Every probe family kotel ships. Adding one is a line here.
import { tcpFamily } from './tcp';
import type { Family } from './types';

export const families: Family[] = [tcpFamily];
