import type { TopicSpec } from './bus.ts';
import { PoisonRecordError } from './bus.ts';
import { formatZodError } from '../config/errors.ts';

/** Records travel as JSON text on every bus, so the in-process bus exercises the same decoding as Kafka. */
export function encodeValue<T>(topic: TopicSpec<T>, value: T): string {
  const checked = topic.schema.safeParse(value);
  if (!checked.success) throw new Error(`refusing to publish to ${topic.name}: ${formatZodError(checked.error)}`);
  return JSON.stringify(checked.data);
}

export function decodeValue<T>(topic: TopicSpec<T>, text: string, partition: number, offset: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PoisonRecordError(topic.name, partition, offset, 'not JSON');
  }
  const parsed = topic.schema.safeParse(json);
  if (!parsed.success) throw new PoisonRecordError(topic.name, partition, offset, formatZodError(parsed.error));
  return parsed.data;
}
