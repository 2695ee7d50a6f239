import type { DeviceMessageSource } from '../ingest/message-source.ts';
import { createAckingSubscriber, type AckingSubscriber, type AckingSubscriberOptions } from './acking-subscriber.ts';

/** Device messages from a subscription to an external broker (Mosquitto, or any MQTT 3.1.1 broker). */
export function subscriptionSource(options: Omit<AckingSubscriberOptions, 'onBatch'>): DeviceMessageSource {
  let subscriber: AckingSubscriber | undefined;
  return {
    async start(onBatch) {
      subscriber = createAckingSubscriber({ ...options, onBatch });
      await subscriber.ready;
    },
    connected: () => subscriber?.connected() ?? false,
    stop: async () => subscriber?.stop(),
  };
}
