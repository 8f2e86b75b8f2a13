/**
 * A client's ReadySet: the lite topics it subscribes to that have something deliverable,
 * deduplicated and in arrival order. Receives take from the front and put a lite topic that
 * still has messages at the back, so one busy lite topic cannot starve the others.
 *
 * Bounded: past `max` entries an arrival only sets `overflow`; the client's next receive that
 * finds the set empty runs the catch-up (a pass over its own InterestSet) so nothing is lost.
 */
export class ReadySet<T> {
  private readonly items = new Set<T>();
  /** Some event was not recorded because the set was full. */
  overflow = false;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.items.size;
  }

  has(item: T): boolean {
    return this.items.has(item);
  }

  /** Adds at the back; false (and `overflow` set) when the set is full. */
  add(item: T): boolean {
    if (this.items.has(item)) return true;
    if (this.items.size >= this.max) {
      this.overflow = true;
      return false;
    }
    this.items.add(item);
    return true;
  }

  /** Takes the oldest entry. */
  shift(): T | undefined {
    const it = this.items.values().next();
    if (it.done) return undefined;
    this.items.delete(it.value);
    return it.value;
  }

  delete(item: T): void {
    this.items.delete(item);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  clear(): void {
    this.items.clear();
  }
}
