import type { Logger } from '../observability/logger.ts';
import type { CapacityCredentials } from './credentials.ts';
import type { CapacityEdge } from './edge.ts';
import { parseCapacityTopic } from './topic.ts';
import { RECONNECT_BACKOFF, retry } from '../time/retry.ts';

/** One capacity message whose sender the broker has vouched for by its topic. Retries while the bus is down. */
export async function receiveCapacityMessage(deps: { edge: CapacityEdge; credentials: CapacityCredentials; logger: Logger }, topic: string, payload: Buffer): Promise<void> {
  const sourceId = parseCapacityTopic(topic);
  const source = sourceId ? deps.credentials.source(sourceId) : undefined;
  if (!source) {
    deps.edge.refusedUnauthenticated('unauthorized');
    return;
  }
  await retry(() => deps.edge.receive(source, payload, { kind: 'mqtt', topic }), {
    backoff: RECONNECT_BACKOFF,
    onFailure: (error) => deps.logger.error({ err: error, sourceId }, 'could not put a capacity message on the bus; will retry'),
  });
}
