import { appendFileSync, cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openJournal } from '../../../src/durable/journal.ts';
import { DirectoryInUseError, lockDirectory } from '../../../src/durable/lock.ts';

/** A counter per key: the state a journal of `{ k, n }` entries rebuilds (the newest n of each key). */
const Entry = z.object({ k: z.string(), n: z.number() });
type Entry = z.infer<typeof Entry>;

async function openCounters(dir: string, maxJournalBytes?: number) {
  const state = new Map<string, number>();
  const skipped: string[] = [];
  const { journal, recovered } = await openJournal<Entry>({
    dir,
    parse: (v) => Entry.parse(v),
    apply: (e) => void state.set(e.k, Math.max(e.n, state.get(e.k) ?? 0)),
    snapshot: function* () {
      yield [...state].map(([k, n]) => ({ k, n }));
    },
    ...(maxJournalBytes ? { maxJournalBytes } : {}),
    onSkipped: (file, line, reason) => skipped.push(`${file.split('/').pop()}:${line}:${reason}`),
  });
  const write = async (e: Entry) => {
    journal.append([e]);
    state.set(e.k, Math.max(e.n, state.get(e.k) ?? 0));
    await journal.flush();
    journal.maybeCheckpoint();
  };
  return { journal, recovered, state, skipped, write };
}

const freshDir = () => join(mkdtempSync(join(tmpdir(), 'vw-journal-')), 'j');

describe('journal', () => {
  it('reads back, in order, every entry flushed before a crash (the files as they were left)', async () => {
    const dir = freshDir();
    const a = await openCounters(dir);
    for (let n = 1; n <= 50; n++) await a.write({ k: `k${n % 5}`, n });
    // What kill -9 leaves: the files as they are now, the journal never closed.
    const crashed = `${dir}-crashed`;
    cpSync(dir, crashed, { recursive: true });
    const b = await openCounters(crashed);
    expect(b.recovered.entries).toBe(50);
    expect(b.recovered.skipped).toBe(0);
    expect([...b.state].sort()).toEqual([['k0', 50], ['k1', 46], ['k2', 47], ['k3', 48], ['k4', 49]]);
    await b.journal.close();
    await a.journal.close();
  });

  it('skips a torn last line and tells which, keeping everything before it', async () => {
    const dir = freshDir();
    const a = await openCounters(dir);
    await a.write({ k: 'x', n: 1 });
    await a.write({ k: 'y', n: 2 });
    await a.journal.close();
    const file = readdirSync(dir).find((f) => f.startsWith('journal-'))!;
    appendFileSync(join(dir, file), '{"k":"z","n":');
    const b = await openCounters(dir);
    expect(b.recovered).toMatchObject({ entries: 2, skipped: 1 });
    expect(b.skipped).toEqual([expect.stringMatching(new RegExp(`^${file}:3:`))]);
    expect([...b.state]).toEqual([['x', 1], ['y', 2]]);
    await b.journal.close();
  });

  it('checkpoints into a snapshot and deletes older files, so disk use follows the state, not the history', async () => {
    const dir = freshDir();
    const a = await openCounters(dir, 4_096);
    for (let n = 1; n <= 3_000; n++) await a.write({ k: `k${n % 10}`, n });
    // Checkpoints run in the background; this one waits for any in progress and takes one more.
    await a.journal.checkpoint();
    const files = readdirSync(dir).filter((f) => f !== 'lock').sort();
    expect(files.filter((f) => f.startsWith('snapshot-'))).toHaveLength(1);
    expect(files.filter((f) => f.startsWith('journal-'))).toHaveLength(1);
    // 3,000 entries of about 16 bytes were written; the state is ten keys.
    expect(a.journal.bytes()).toBeLessThan(4_096 + 400);
    await a.write({ k: 'k1', n: 3_001 });
    cpSync(dir, `${dir}-crashed`, { recursive: true });
    const b = await openCounters(`${dir}-crashed`);
    expect(b.state.get('k1')).toBe(3_001);
    expect(b.state.get('k0')).toBe(3_000);
    expect(b.state.size).toBe(10);
    await b.journal.close();
    await a.journal.close();
  });

  it('ignores a snapshot the crash interrupted and replays the journals it would have replaced', async () => {
    const dir = freshDir();
    const a = await openCounters(dir);
    await a.write({ k: 'x', n: 7 });
    await a.journal.close();
    writeFileSync(join(dir, 'snapshot-000000009.jsonl.tmp'), '{"k":"x","n":99}\n');
    const b = await openCounters(dir);
    expect(b.state.get('x')).toBe(7);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
    await b.journal.close();
  });

  it('refuses a directory another live journal holds, and takes over the lock of a process that died', async () => {
    const dir = freshDir();
    const a = await openCounters(dir);
    await expect(openCounters(dir)).rejects.toBeInstanceOf(DirectoryInUseError);
    await a.journal.close();
    // A lock naming a process that has exited (kill -9 leaves the file behind).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, 'lock'), `${dead}\n`);
    const b = await openCounters(dir);
    await b.journal.close();
    // A lock naming a live process (this test's parent) is respected.
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);
    expect(() => lockDirectory(dir)).toThrow(/in use by process/);
  });
});
