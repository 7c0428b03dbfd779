// Sorting the small lists the snapshot is full of (label keys, a pod's services, a workload's
// policies, a port's endpoints): most hold 0 to 10 items, and 10,000s of them are sorted per build.
// An insertion sort in place allocates nothing, unlike Array.prototype.sort; longer lists use the
// latter. Both are stable.

const INSERTION_LIMIT = 16;

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts `items` in place by `compare` and returns it. */
export function sortBy<T>(items: T[], compare: (a: T, b: T) => number): T[] {
  if (items.length > INSERTION_LIMIT) return items.sort(compare);
  for (let i = 1; i < items.length; i++) {
    const item = items[i] as T;
    let j = i - 1;
    while (j >= 0 && compare(items[j] as T, item) > 0) {
      items[j + 1] = items[j] as T;
      j--;
    }
    items[j + 1] = item;
  }
  return items;
}

/** Sorts strings in place in UTF-16 code unit order (as `sort()` without a comparator does). */
export function sortStrings(items: string[]): string[] {
  return sortBy(items, byCodeUnits);
}

/** A new sorted array of the items (of a Set, a Map's keys…); none given is an empty array. */
export function sortedStrings(items: Iterable<string> | undefined): string[] {
  return items ? sortStrings([...items]) : [];
}
