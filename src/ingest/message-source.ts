/** A message as a broker delivered it: the topic names the device that published it. */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
}

/**
 * Where ingest's device messages come from (the port; src/mqtt implements it): an MQTT subscription
 * to an external broker, or the embedded broker handing them over in-process. Either way a message is
 * acknowledged to its device's broker only once `onBatch` has resolved for it, so nothing is
 * acknowledged before it is on the bus.
 */
export interface DeviceMessageSource {
  /** Starts delivering; resolves once messages can flow (connected and subscribed). */
  start(onBatch: (messages: InboundMessage[]) => Promise<void>): Promise<void>;
  connected(): boolean;
  stop(): Promise<void>;
}
