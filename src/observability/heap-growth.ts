import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived the last full collection. Left to itself V8 grows
 * it up to about four times the live heap on a machine with memory to spare, and a busy vw (a steady
 * stream of short-lived readings) then creeps towards that bound for hours: resident memory that looks
 * like a leak though nothing vw holds grows. A fixed factor keeps the heap in proportion to what vw
 * holds, so memory levels off as soon as the live heap does, and still grows with a bigger ward
 * (a hard heap cap would crash one instead). V8 reads the factor at every full collection, so setting
 * it after start takes effect from the next one.
 */
export type HeapGrowth =
  | { applied: true; percent: number }
  | { applied: false; reason: 'off' | 'set by the operator' };

const OPERATOR_FLAG = /--heap[-_]growing[-_]percent/;

export function applyHeapGrowth(percent: number, launch: { execArgv: readonly string[]; nodeOptions: string | undefined } = { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS }): HeapGrowth {
  // A flag given to node itself is the operator's choice and wins.
  if (launch.execArgv.some((a) => OPERATOR_FLAG.test(a)) || OPERATOR_FLAG.test(launch.nodeOptions ?? '')) return { applied: false, reason: 'set by the operator' };
  if (percent === 0) return { applied: false, reason: 'off' };
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return { applied: true, percent };
}
