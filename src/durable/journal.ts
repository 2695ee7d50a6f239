import { closeSync, createReadStream, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { lockDirectory } from './lock.ts';

/**
 * An append-only journal with snapshots: how the embedded bus and store outlive a crash. Entries are
 * JSON lines appended to `journal-<n>.jsonl`; `flush()` resolves once everything appended so far is
 * on disk (one fdatasync shared by every caller waiting, so a busy ward pays for a few syncs a second,
 * not one per reading). When the journals grow past `maxJournalBytes` a checkpoint starts a new
 * journal and writes the whole state as `snapshot-<n>.jsonl`, after which older files are deleted:
 * disk use follows the state's size, which retention bounds, not the history's.
 *
 * Recovery applies the newest complete snapshot and then every journal from the same number on. A
 * snapshot is written while appends go on, so it may also hold entries of the journals after it:
 * `apply` must be idempotent (every entry here is: records carry their offset, writes their id).
 */
export interface JournalOptions<E> {
  dir: string;
  /** Checks one decoded line; throws when it is not an entry (a damaged file). */
  parse: (value: unknown) => E;
  /** Applies one recovered entry to the state. */
  apply: (entry: E) => void;
  /** The state, in chunks of entries, for a snapshot. Chunks are written with a pause between them. */
  snapshot: () => Iterable<E[]>;
  maxJournalBytes?: number;
  /** Told of lines skipped on recovery: a torn last line after a crash, or a damaged file. */
  onSkipped?: (file: string, line: number, reason: string) => void;
}

export interface Journal<E> {
  append(entries: readonly E[]): void;
  /** Resolves when every entry appended before the call is on disk. */
  flush(): Promise<void>;
  /** Writes a snapshot now if the journals have grown past their bound (called after appends). */
  maybeCheckpoint(): void;
  checkpoint(): Promise<void>;
  /** Bytes in the data directory's files of this journal. */
  bytes(): number;
  close(): Promise<void>;
}

export interface Recovered {
  entries: number;
  skipped: number;
  files: number;
}

const DEFAULT_MAX_JOURNAL_BYTES = 64 * 1024 * 1024;
const FILE = /^(journal|snapshot)-(\d{9})\.jsonl$/;
const name = (kind: 'journal' | 'snapshot', seq: number) => `${kind}-${String(seq).padStart(9, '0')}.jsonl`;

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function replayFile<E>(file: string, options: JournalOptions<E>, counts: Recovered): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line) continue;
    let entry: E;
    try {
      entry = options.parse(JSON.parse(line));
    } catch (error) {
      counts.skipped++;
      options.onSkipped?.(file, n, (error as Error).message.slice(0, 200));
      continue;
    }
    options.apply(entry);
    counts.entries++;
  }
}

export async function openJournal<E>(options: JournalOptions<E>): Promise<{ journal: Journal<E>; recovered: Recovered }> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const unlock = lockDirectory(options.dir);
  try {
    return await openLocked(options, unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

async function openLocked<E>(options: JournalOptions<E>, unlock: () => void): Promise<{ journal: Journal<E>; recovered: Recovered }> {
  const { dir } = options;
  const maxJournalBytes = options.maxJournalBytes ?? DEFAULT_MAX_JOURNAL_BYTES;

  // ---- recovery ----
  const files = readdirSync(dir).filter((f) => f !== 'lock');
  // A snapshot still being written when the process died is incomplete: its journals are all kept.
  for (const f of files) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
  const found = files.flatMap((f) => {
    const m = FILE.exec(f);
    return m ? [{ file: f, kind: m[1] as 'journal' | 'snapshot', seq: Number(m[2]) }] : [];
  });
  const snapshotSeq = Math.max(0, ...found.filter((f) => f.kind === 'snapshot').map((f) => f.seq));
  const counts: Recovered = { entries: 0, skipped: 0, files: 0 };
  if (snapshotSeq > 0) {
    await replayFile(join(dir, name('snapshot', snapshotSeq)), options, counts);
    counts.files++;
  }
  const journals = found.filter((f) => f.kind === 'journal' && f.seq >= snapshotSeq).sort((a, b) => a.seq - b.seq);
  for (const j of journals) {
    await replayFile(join(dir, j.file), options, counts);
    counts.files++;
  }
  for (const f of found) if (f.seq < snapshotSeq) rmSync(join(dir, f.file), { force: true });

  // ---- appending ----
  let seq = Math.max(snapshotSeq, ...found.map((f) => f.seq)) + 1;
  let fd = openSync(join(dir, name('journal', seq)), 'a', 0o600);
  let journalBytes = journals.reduce((sum, j) => sum + statSync(join(dir, j.file)).size, 0);
  let snapshotBytes = snapshotSeq > 0 ? statSync(join(dir, name('snapshot', snapshotSeq))).size : 0;
  let appended = 0;
  let durable = 0;
  const dirty = new Set<number>();
  const retired: number[] = [];
  let syncing: Promise<void> | undefined;
  let checkpointing: Promise<void> | undefined;
  let closed = false;

  function syncOnce(): Promise<void> {
    syncing ??= (async () => {
      const upTo = appended;
      const fds = [...dirty];
      dirty.clear();
      try {
        await Promise.all(fds.map(datasync));
      } catch (error) {
        for (const f of fds) dirty.add(f);
        throw error;
      }
      durable = Math.max(durable, upTo);
      // A journal left behind by a checkpoint is closed once nothing of it waits to be synced.
      for (let i = retired.length - 1; i >= 0; i--) {
        if (!dirty.has(retired[i]!)) closeSync(retired.splice(i, 1)[0]!);
      }
    })().finally(() => {
      syncing = undefined;
    });
    return syncing;
  }

  async function checkpoint(): Promise<void> {
    if (checkpointing) return checkpointing;
    checkpointing = (async () => {
      // Appends from here on go to the new journal; the snapshot, written after, covers the old ones.
      const cut = seq + 1;
      const next = openSync(join(dir, name('journal', cut)), 'a', 0o600);
      retired.push(fd);
      dirty.add(fd);
      fd = next;
      seq = cut;
      journalBytes = 0;
      await syncOnce();
      const tmp = join(dir, `${name('snapshot', cut)}.tmp`);
      const out = await open(tmp, 'w', 0o600);
      let bytes = 0;
      try {
        for (const chunk of options.snapshot()) {
          if (!chunk.length) continue;
          const text = chunk.map((e) => JSON.stringify(e)).join('\n') + '\n';
          await out.write(text);
          bytes += Buffer.byteLength(text);
        }
        await out.datasync();
      } finally {
        await out.close();
      }
      renameSync(tmp, join(dir, name('snapshot', cut)));
      syncDir(dir);
      snapshotBytes = bytes;
      for (const f of readdirSync(dir)) {
        const m = FILE.exec(f);
        if (m && Number(m[2]) < cut) rmSync(join(dir, f), { force: true });
      }
    })().finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }

  const journal: Journal<E> = {
    append(entries) {
      if (closed) throw new Error('journal is closed');
      if (!entries.length) return;
      const buffer = Buffer.from(entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
      // One write per append: a crash leaves at most a torn last line, which recovery skips.
      let offset = 0;
      while (offset < buffer.length) offset += writeSync(fd, buffer, offset);
      dirty.add(fd);
      journalBytes += buffer.length;
      appended++;
    },
    async flush() {
      const target = appended;
      while (durable < target) await syncOnce();
    },
    maybeCheckpoint() {
      if (!checkpointing && !closed && journalBytes > Math.max(maxJournalBytes, snapshotBytes)) void checkpoint().catch(() => undefined);
    },
    checkpoint,
    bytes: () => journalBytes + snapshotBytes,
    async close() {
      if (closed) return;
      await checkpointing?.catch(() => undefined);
      await journal.flush().catch(() => undefined);
      closed = true;
      closeSync(fd);
      for (const f of retired.splice(0)) closeSync(f);
      unlock();
    },
  };
  return { journal, recovered: counts };
}
