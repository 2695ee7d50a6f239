import { randomBytes } from 'node:crypto';
import { on, type Bus, type Subscription } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { FlowEvent } from '../domain/index.ts';
import type { Registry } from './registry.ts';

/**
 * Keeps this process's registry's enrolments in step with the patient-flow topic, read from the start
 * (each process its own group, since every process needs every patient). Resolves once everything on
 * the topic when called has been applied, so ingest maps no device on a stale enrolment at start.
 */
export async function followFlow(bus: Bus, registry: Registry, also: Array<(event: FlowEvent) => void> = []): Promise<Subscription> {
  const applied = new Map<number, number>();
  const ends = await bus.offsets(Topics.patientFlow);
  const subscription = await bus.consume({
    groupId: `vw-registry-flow-${randomBytes(6).toString('hex')}`,
    fromBeginning: true,
    topics: [
      on(Topics.patientFlow, async ({ value, partition, offset }) => {
        registry.applyFlow(value);
        for (const apply of also) apply(value);
        applied.set(partition, Number(offset) + 1);
      }),
    ],
  });
  const behind = () => ends.some((o) => o.high > o.low && (applied.get(o.partition) ?? o.low) < o.high);
  while (behind()) await new Promise((resolve) => setTimeout(resolve, 5));
  return subscription;
}
