// Slot assignment of a service's backends (skf_lb_slots: a new flow takes slot hash % count): one
// slot per backend, and a change moves as few slots as possible — a backend that stays keeps its
// slot when the slot still exists, new and displaced backends fill the freed slots in order.

/** The new slot table (backend id per slot) for `backends`, given the previous table. */
export function assignSlots(previous: readonly number[], backends: readonly number[]): number[] {
  const wanted = new Set(backends);
  const count = backends.length;
  const slots: (number | undefined)[] = new Array<number | undefined>(count).fill(undefined);
  const placed = new Set<number>();
  for (let i = 0; i < Math.min(previous.length, count); i++) {
    const id = previous[i] as number;
    if (wanted.has(id) && !placed.has(id)) {
      slots[i] = id;
      placed.add(id);
    }
  }
  const waiting = backends.filter((id) => !placed.has(id));
  for (let i = 0; i < count; i++) if (slots[i] === undefined) slots[i] = waiting.shift();
  return slots as number[];
}
