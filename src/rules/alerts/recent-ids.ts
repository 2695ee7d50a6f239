/**
 * Ids of recently resolved alerts, bounded: enough to answer a late or repeated action with "already
 * resolved" rather than "not found", without keeping every alert ever raised.
 */
export function createRecentIds(limit = 10_000) {
  const ids = new Set<string>();
  return {
    add(id: string): void {
      ids.add(id);
      if (ids.size > limit) ids.delete(ids.values().next().value!);
    },
    has: (id: string) => ids.has(id),
  };
}
