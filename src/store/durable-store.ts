import { openJournal, type Recovered } from '../durable/journal.ts';
import { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
import { StoreState } from './store-state.ts';
import type { TimeSeriesStore } from './store.ts';

export interface DurableStoreOptions extends MemoryStoreOptions {
  /** Where the journal and snapshots are kept (a directory of the data directory). */
  dir: string;
  maxJournalBytes?: number;
  onSkipped?: (file: string, line: number, reason: string) => void;
}

/**
 * The embedded store kept in a journal: each write is on disk before it resolves (so the sink commits
 * its offsets only after that), and a restart reads back what was held. Snapshots hold what retention
 * left, so the directory stays about the size of the store in memory.
 */
export async function openDurableMemoryStore(options: DurableStoreOptions): Promise<{ store: MemoryStore; recovered: Recovered; diskBytes(): number }> {
  const inner = createMemoryStore(options);
  const { journal, recovered } = await openJournal<StoreState>({
    dir: options.dir,
    parse: (value) => StoreState.parse(value),
    apply: (state) => inner.restore(state),
    snapshot: () => inner.exportState(),
    ...(options.maxJournalBytes ? { maxJournalBytes: options.maxJournalBytes } : {}),
    ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
  });

  async function journaled<T>(list: T[], entry: StoreState, write: () => Promise<void>): Promise<void> {
    if (!list.length) return;
    journal.append([entry]);
    await write();
    await journal.flush();
    journal.maybeCheckpoint();
  }

  const writes: Pick<TimeSeriesStore, 'writeReadings' | 'writeScores' | 'writeReferrals' | 'writeFlowEvents' | 'writeAlerts' | 'writeCapacity'> = {
    writeReadings: (readings) => journaled(readings, { readings }, () => inner.writeReadings(readings)),
    writeScores: (scores) => journaled(scores, { scores }, () => inner.writeScores(scores)),
    writeReferrals: (referrals) => journaled(referrals, { referrals }, () => inner.writeReferrals(referrals)),
    writeFlowEvents: (flow) => journaled(flow, { flow }, () => inner.writeFlowEvents(flow)),
    writeAlerts: (alerts) => journaled(alerts, { alerts }, () => inner.writeAlerts(alerts)),
    writeCapacity: (capacity) => journaled(capacity, { capacity }, () => inner.writeCapacity(capacity)),
  };
  const store: MemoryStore = {
    ...inner,
    ...writes,
    async close() {
      await journal.close();
      await inner.close();
    },
  };
  return { store, recovered, diskBytes: () => journal.bytes() };
}
