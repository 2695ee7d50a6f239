import { createAckingSubscriber, type AckingSubscriber, type AckingSubscriberOptions, type InboundMessage } from '../mqtt/acking-subscriber.ts';

export type { InboundMessage };

/**
 * Where ingest's device messages come from: an MQTT subscription to an external broker, or the
 * embedded broker handing them over in-process. Either way a message is acknowledged to its device's
 * broker only once `onBatch` has resolved for it, so nothing is acknowledged before it is on the bus.
 */
export interface DeviceMessageSource {
  /** Starts delivering; resolves once messages can flow (connected and subscribed). */
  start(onBatch: (messages: InboundMessage[]) => Promise<void>): Promise<void>;
  connected(): boolean;
  stop(): Promise<void>;
}

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
