/** The MQTT topic scheme: one topic per device, naming the device. See docs/payloads.md. */
export const DEVICE_TOPIC_FILTER = 'vw/v1/devices/+/readings';
const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PREFIX = 'vw/v1/devices/';
const SUFFIX = '/readings';

export function deviceTopic(deviceId: string): string {
  return `${PREFIX}${deviceId}${SUFFIX}`;
}

/** The device id a topic names, or undefined when the topic is not of the scheme. */
export function parseDeviceTopic(topic: string): string | undefined {
  if (!topic.startsWith(PREFIX) || !topic.endsWith(SUFFIX)) return undefined;
  const id = topic.slice(PREFIX.length, topic.length - SUFFIX.length);
  return DEVICE_ID.test(id) ? id : undefined;
}
