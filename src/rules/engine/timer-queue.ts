/**
 * A binary heap of patients by wake time, then patient id, so timers fire in the same order on every
 * run. A patient may have stale entries: the caller skips those whose wake is not the patient's own.
 */
export function createTimerQueue<S extends { readonly patientId: string }>() {
  type Entry = { wake: number; state: S };
  const heap: Entry[] = [];
  const before = (a: Entry, b: Entry) => a.wake < b.wake || (a.wake === b.wake && a.state.patientId < b.state.patientId);
  return {
    push(wake: number, state: S): void {
      const entry = { wake, state };
      let i = heap.push(entry) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(entry, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = entry;
    },
    peek: (): Entry | undefined => heap[0],
    pop(): Entry | undefined {
      const top = heap[0];
      const last = heap.pop();
      if (!top || !last || !heap.length) return top;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let best = last;
        if (l < heap.length && before(heap[l]!, best)) {
          m = l;
          best = heap[l]!;
        }
        if (r < heap.length && before(heap[r]!, best)) m = r;
        if (m === i) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = last;
      return top;
    },
  };
}
