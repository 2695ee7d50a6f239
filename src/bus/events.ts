import { EventEmitter } from 'node:events';
import type { PoisonRecordError } from './bus.ts';

/**
 * Instrumentation events a bus emits, so logging and metrics attach from outside without the bus
 * knowing about either.
 */
export interface BusEventMap {
  /** A group's partitions were reassigned: members in the group (in-process), or this member's share (Kafka). */
  rebalance: [{ groupId: string; topics: string[]; members?: number; assignment?: Record<string, number[]> }];
  'handler.failed': [{ groupId: string; topic: string; partition: number; offset: string; attempt: number; error: unknown }];
  'record.poison': [{ groupId: string; error: PoisonRecordError }];
  'retention.skipped': [{ groupId: string; topic: string; partition: number; records: number }];
  /** Kafka: the producer was replaced after the broker refused its sequence numbers (the error's type). */
  'producer.replaced': [{ reason: string }];
}

export class BusEvents extends EventEmitter<BusEventMap> {}
