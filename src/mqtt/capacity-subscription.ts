import { receiveCapacityMessage } from '../capacity/broker-message.ts';
import type { CapacityCredentials } from '../capacity/credentials.ts';
import type { CapacityEdge } from '../capacity/edge.ts';
import { CAPACITY_TOPIC_FILTER } from '../capacity/topic.ts';
import type { Logger } from '../observability/logger.ts';
import { createAckingSubscriber, type AckingSubscriber, type AckingSubscriberOptions } from './acking-subscriber.ts';

/**
 * Capacity snapshots from an external broker: the broker's ACL lets a source publish only on its own
 * topic (`vw mqtt-auth`), so the topic names the sender. Each message is acknowledged once its snapshot
 * or refusal is on the bus.
 */
export function startCapacitySubscription(options: {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** `$share/<group>/…`: processes in one group split the capacity messages between them. */
  sharedGroup?: string;
  /** The broker's CA and a client certificate, for mqtts:// (as ingest's device subscription has). */
  tls?: AckingSubscriberOptions['tls'];
  edge: CapacityEdge;
  credentials: CapacityCredentials;
  logger: Logger;
}): { ready: Promise<void>; connected(): boolean; stop(): Promise<void> } {
  const log = options.logger.child({ component: 'capacity-mqtt' });
  const subscriber: AckingSubscriber = createAckingSubscriber({
    url: options.url,
    clientId: options.clientId,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    filter: options.sharedGroup ? `$share/${options.sharedGroup}/${CAPACITY_TOPIC_FILTER}` : CAPACITY_TOPIC_FILTER,
    logger: log,
    async onBatch(messages) {
      for (const { topic, payload } of messages) await receiveCapacityMessage(options, topic, payload);
    },
  });
  return { ready: subscriber.ready, connected: () => subscriber.connected(), stop: () => subscriber.stop() };
}
