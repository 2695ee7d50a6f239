import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CapacitySource } from '../domain/index.ts';

/**
 * Capacity sources' credentials, derived from one secret the way devices' are: a source's token is its
 * HTTP bearer token and, with its source id as username, its MQTT password.
 */
export function capacitySourceToken(secret: string, sourceId: string): string {
  return createHmac('sha256', secret).update(`vw-capacity:${sourceId}`).digest('base64url');
}

export interface CapacityCredentials {
  /** The source a bearer token belongs to, or undefined. Compared in constant time. */
  sourceForToken(token: string): CapacitySource | undefined;
  /** The source whose id and token these are (an MQTT username and password), or undefined. */
  authenticate(sourceId: string, token: string): CapacitySource | undefined;
  source(sourceId: string): CapacitySource | undefined;
  tokenFor(sourceId: string): string;
}

export function createCapacityCredentials(secret: string, sources: readonly CapacitySource[]): CapacityCredentials {
  const entries = sources.map((source) => ({ source, token: Buffer.from(capacitySourceToken(secret, source.sourceId)) }));
  const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
  return {
    sourceForToken(token) {
      const given = Buffer.from(token);
      // Every entry is compared, so the time taken says nothing about which source came close.
      let found: CapacitySource | undefined;
      for (const e of entries) if (same(e.token, given)) found = e.source;
      return found;
    },
    authenticate(sourceId, token) {
      const entry = entries.find((e) => e.source.sourceId === sourceId);
      return entry && same(entry.token, Buffer.from(token)) ? entry.source : undefined;
    },
    source: (sourceId) => entries.find((e) => e.source.sourceId === sourceId)?.source,
    tokenFor: (sourceId) => capacitySourceToken(secret, sourceId),
  };
}
