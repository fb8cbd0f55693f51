/**
 * Bounded LRU of open segment descriptors (DESIGN §4): 10,000 partitions must not need 30,000 fds.
 * Only `.log` files live here (indexes are read and written whole), opened lazily on first use.
 * A descriptor in use is pinned; an over-full pool closes the least recently used unpinned ones,
 * so the bound can only be exceeded by descriptors that operations are using at that moment.
 */
import * as fs from 'node:fs';
import { closeFd, openFd } from './fs-util.js';

interface Entry {
  fd: Promise<number>;
  pins: number;
  retired: boolean;
}

export class FilePool {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly capacity: number) {}

  get openCount(): number {
    return this.entries.size;
  }

  /**
   * Runs fn with an open read-write descriptor for path. Only writers pass create: a reader racing a
   * segment deletion gets ENOENT instead of resurrecting an empty file.
   */
  async withFile<T>(path: string, create: boolean, fn: (fd: number) => Promise<T>): Promise<T> {
    const entry = this.acquire(path, create);
    try {
      return await fn(await entry.fd);
    } finally {
      this.release(path, entry);
    }
  }

  /** Closes path's descriptor now, or when its last user releases it (file deleted or renamed). */
  retire(path: string): void {
    const entry = this.entries.get(path);
    if (entry === undefined) return;
    this.entries.delete(path);
    entry.retired = true;
    if (entry.pins === 0) closeQuietly(entry);
  }

  /** Retires every descriptor whose path starts with prefix (a partition directory going away). */
  retireUnder(prefix: string): void {
    for (const path of [...this.entries.keys()]) if (path.startsWith(prefix)) this.retire(path);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of all) entry.retired = true;
    await Promise.all(all.filter((e) => e.pins === 0).map((e) => e.fd.then(closeFd, () => undefined)));
  }

  private acquire(path: string, create: boolean): Entry {
    let entry = this.entries.get(path);
    if (entry !== undefined) {
      this.entries.delete(path);
    } else {
      this.evict(this.capacity - 1);
      const flags = fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0);
      entry = { fd: openFd(path, flags), pins: 0, retired: false };
      entry.fd.catch(() => undefined);
    }
    this.entries.set(path, entry);
    entry.pins++;
    return entry;
  }

  private release(path: string, entry: Entry): void {
    entry.pins--;
    if (entry.pins > 0) return;
    if (entry.retired) {
      closeQuietly(entry);
      return;
    }
    // A failed open must not stay cached: the next user retries.
    entry.fd.catch(() => {
      if (this.entries.get(path) === entry) this.entries.delete(path);
    });
    this.evict(this.capacity);
  }

  private evict(target: number): void {
    if (this.entries.size <= target) return;
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= target) return;
      if (entry.pins > 0) continue;
      this.entries.delete(path);
      entry.retired = true;
      closeQuietly(entry);
    }
  }
}

function closeQuietly(entry: Entry): void {
  entry.fd.then(closeFd, () => undefined).catch(() => undefined);
}
