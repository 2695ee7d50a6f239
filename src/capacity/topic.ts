/** Capacity sources publish over MQTT on a topic naming the source (docs/capacity.md). */
export const CAPACITY_TOPIC_FILTER = 'vw/v1/capacity/+/snapshots';
const PREFIX = 'vw/v1/capacity/';
const SUFFIX = '/snapshots';
const SOURCE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function capacityTopic(sourceId: string): string {
  return `${PREFIX}${sourceId}${SUFFIX}`;
}

export function parseCapacityTopic(topic: string): string | undefined {
  if (!topic.startsWith(PREFIX) || !topic.endsWith(SUFFIX)) return undefined;
  const id = topic.slice(PREFIX.length, topic.length - SUFFIX.length);
  return SOURCE_ID.test(id) ? id : undefined;
}
