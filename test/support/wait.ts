/**
 * Polls until the condition holds, or fails after the timeout: generous, since it only waits for
 * something to happen (on a loaded machine that takes longer). Never a way to show that nothing
 * happened: for that, wait for a later event that would come after it.
 */
export async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
