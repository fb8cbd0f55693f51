/**
 * Bounded LRU of open segment descriptors (DESIGN §4): 10,000 partitions must not need 30,000 fds.
 * `.log` and `.txnindex` files live here (the sparse indexes are read and written whole), opened lazily on first use.
 * A descriptor in use is pinned; an over-full pool closes the least recently used unpinned ones,
 * so the bound can only be exceeded by descriptors that operations are using at that moment.
 *
 * A file may also have an O_DSYNC descriptor (fsync-mode appends): each write on it returns only once
 * its bytes are on disk, so a group commit is one thread-pool job instead of pwritev + fdatasync. It is
 * a separate entry (key path + DSYNC_SUFFIX) so reads and `none`-mode writes never pay for the sync.
 */
import * as fs from 'node:fs';
import { sep } from 'node:path';
import { closeFd, openFd } from './fs-util.js';

/** Cannot occur in a path (NUL), so a dsync key never collides with a plain one. */
const DSYNC_SUFFIX = '\0dsync';

interface Entry {
  fd: Promise<number>;
  pins: number;
  retired: boolean;
  /** The directory holding the file, with its trailing separator (byDirectory's key). */
  dir: string;
}

export class FilePool {
  private readonly entries = new Map<string, Entry>();
  /**
   * Keys per directory, so retiring a partition's files does not scan every entry: a stop of 20,000
   * partitions scanned the 1,024 entries 20,000 times (issue 26, defect 3).
   */
  private readonly byDirectory = new Map<string, Set<string>>();

  constructor(readonly capacity: number) {}

  get openCount(): number {
    return this.entries.size;
  }

  /**
   * Runs fn with an open read-write descriptor for path. Only writers pass create: a reader racing a
   * segment deletion gets ENOENT instead of resurrecting an empty file. dsync: the descriptor is opened
   * with O_DSYNC (every write is durable when it returns, as if followed by fdatasync of its range).
   */
  async withFile<T>(path: string, create: boolean, fn: (fd: number) => Promise<T>, dsync = false): Promise<T> {
    const key = dsync ? path + DSYNC_SUFFIX : path;
    const entry = this.acquire(key, path, create, dsync);
    try {
      return await fn(await entry.fd);
    } finally {
      this.release(key, entry);
    }
  }

  /** Closes path's descriptors now, or when their last user releases them (file deleted or renamed). */
  retire(path: string): void {
    this.retireKey(path);
    this.retireKey(path + DSYNC_SUFFIX);
  }

  private retireKey(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.remove(key, entry);
    entry.retired = true;
    if (entry.pins === 0) closeQuietly(entry);
  }

  /** Retires every descriptor of a file directly in `dir` (given with its trailing separator): a partition directory going away. */
  retireUnder(dir: string): void {
    for (const key of [...(this.byDirectory.get(dir) ?? [])]) this.retireKey(key);
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    const keys = this.byDirectory.get(entry.dir);
    keys?.delete(key);
    if (keys?.size === 0) this.byDirectory.delete(entry.dir);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.byDirectory.clear();
    for (const entry of all) entry.retired = true;
    await Promise.all(all.filter((e) => e.pins === 0).map((e) => e.fd.then(closeFd, () => undefined)));
  }

  private acquire(key: string, path: string, create: boolean, dsync: boolean): Entry {
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
    } else {
      this.evict(this.capacity - 1);
      const flags = fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0) | (dsync ? fs.constants.O_DSYNC : 0);
      entry = { fd: openFd(path, flags), pins: 0, retired: false, dir: path.slice(0, path.lastIndexOf(sep) + 1) };
      entry.fd.catch(() => undefined);
    }
    this.entries.set(key, entry);
    let keys = this.byDirectory.get(entry.dir);
    if (keys === undefined) this.byDirectory.set(entry.dir, (keys = new Set()));
    keys.add(key);
    entry.pins++;
    return entry;
  }

  private release(key: string, entry: Entry): void {
    entry.pins--;
    if (entry.pins > 0) return;
    if (entry.retired) {
      closeQuietly(entry);
      return;
    }
    // A failed open must not stay cached: the next user retries.
    entry.fd.catch(() => {
      if (this.entries.get(key) === entry) this.remove(key, entry);
    });
    this.evict(this.capacity);
  }

  private evict(target: number): void {
    if (this.entries.size <= target) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= target) return;
      if (entry.pins > 0) continue;
      this.remove(key, entry);
      entry.retired = true;
      closeQuietly(entry);
    }
  }
}

function closeQuietly(entry: Entry): void {
  entry.fd.then(closeFd, () => undefined).catch(() => undefined);
}
