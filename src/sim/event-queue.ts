/**
 * Min-heap of timed events; ties break by insertion order so a seed replays exactly (STYLE.md 2).
 */
interface Slot<T> {
  readonly timeMs: number;
  readonly sequence: number;
  readonly event: T;
}

export class EventQueue<T> {
  private heap: Slot<T>[] = [];
  private sequence = 0;

  get size(): number { return this.heap.length; }

  push(timeMs: number, event: T): void {
    this.heap.push({ timeMs, sequence: this.sequence++, event });
    this.siftUp(this.heap.length - 1);
  }

  pop(): { timeMs: number; event: T } | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return { timeMs: top.timeMs, event: top.event };
  }

  private less(a: Slot<T>, b: Slot<T>): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
  }

  private siftUp(position: number): void {
    const heap = this.heap;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!this.less(heap[position]!, heap[parent]!)) return;
      [heap[position], heap[parent]] = [heap[parent]!, heap[position]!];
      position = parent;
    }
  }

  private siftDown(position: number): void {
    const heap = this.heap;
    for (;;) {
      const left = position * 2 + 1;
      const right = left + 1;
      let smallest = position;
      if (left < heap.length && this.less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === position) return;
      [heap[position], heap[smallest]] = [heap[smallest]!, heap[position]!];
      position = smallest;
    }
  }
}
