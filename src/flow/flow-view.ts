import type { FlowEvent, Pathway } from '../domain/index.ts';

/**
 * Who is on which virtual ward now, from the flow events applied in order: what an admission,
 * discharge or transfer is checked against before it is accepted.
 */
export function createFlowView() {
  const onWard = new Map<string, { wardId: string; pathway: Pathway; since: string }>();
  const seen = new Set<string>();
  return {
    /** Why the event cannot follow what is known, or undefined when it can. */
    check(event: FlowEvent): string | undefined {
      const current = onWard.get(event.patientId);
      if (event.kind === 'admit') return current ? `the patient is already on ${current.wardId} (since ${current.since})` : undefined;
      const fromWard = event.kind === 'transfer' ? event.fromWardId : event.wardId;
      if (!current) return 'the patient is not on a virtual ward';
      if (current.wardId !== fromWard) return `the patient is on ${current.wardId}, not ${fromWard}`;
      if (event.kind === 'transfer' && event.wardId === fromWard) return 'a transfer must go to another ward';
      return undefined;
    },
    /** Returns false for an event already applied (a redelivery) or one that does not follow. */
    apply(event: FlowEvent): boolean {
      if (seen.has(event.eventId) || this.check(event)) return false;
      seen.add(event.eventId);
      if (event.kind === 'admit') onWard.set(event.patientId, { wardId: event.wardId, pathway: event.pathway, since: event.at });
      else if (event.kind === 'transfer') onWard.set(event.patientId, { wardId: event.wardId, pathway: event.pathway ?? onWard.get(event.patientId)!.pathway, since: event.at });
      else onWard.delete(event.patientId);
      return true;
    },
    has: (eventId: string) => seen.has(eventId),
    /** A patient the registry already has on a ward (enrolled before flow was recorded). */
    seed(patientId: string, wardId: string, pathway: Pathway, since: string): void {
      if (!onWard.has(patientId)) onWard.set(patientId, { wardId, pathway, since });
    },
    occupied(wardId: string): number {
      let n = 0;
      for (const s of onWard.values()) if (s.wardId === wardId) n++;
      return n;
    },
    wardOf: (patientId: string) => onWard.get(patientId)?.wardId,
  };
}
export type FlowView = ReturnType<typeof createFlowView>;
