import { createHash } from 'node:crypto';

/**
 * The identity of an observation: the same device, type and event time is the same observation,
 * however many times it is delivered. Stable across processes, so any stage can absorb copies.
 */
export function readingIdOf(deviceId: string, type: string, eventTimeMs: number): string {
  return createHash('sha1').update(`${deviceId}\u0000${type}\u0000${eventTimeMs}`).digest('base64url').slice(0, 22);
}
