/**
 * Durable Raft state in one directory:
 *   hardstate  term, vote, commitIndex + CRC-32C, replaced atomically (write temp, fsync, rename, fsync dir)
 *   snapshot   the latest snapshot + CRC-32C, replaced atomically the same way
 *   log        a header naming the (index, term) it follows, then records [length][crc32c][entry]
 * Every write is fsynced before persist() returns, so the driver acknowledges a Ready only once it is
 * on disk (thesis §3.8). Recovery keeps the longest valid prefix of the log: a torn tail is cut off.
 * Synchronous IO on purpose: one serial owner, metadata-sized writes, no reordering across awaits.
 */
import { crc32c } from '@node-rs/crc32';
import {
  closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { invariant } from '../../common/assert.js';
import { bootstrapState } from '../core/bootstrap.js';
import type { ConfState, Entry, HardState, PersistedState, Ready, Snapshot } from '../core/types.js';
import { CodecError, Reader, readEntry, readSnapshot, Writer, writeEntry, writeSnapshot } from './codec.js';

const logMagic = 0x524e4c47; // "RNLG"
const headerBytes = 4 + 8 + 8 + 4;
const recordHeaderBytes = 8;

export interface RecoveryReport {
  readonly entries: number;
  readonly tornBytes: number;
  readonly droppedStaleLog: boolean;
}

export class DurableStorage {
  private logFd = -1;
  private logBytes = 0;
  /** Byte offset of each entry record, by index - firstIndex. */
  private offsets: number[] = [];
  private firstIndex = 1;
  private snapshotValue: Snapshot;
  private hardStateValue: HardState;
  fsyncCount = 0;

  private constructor(private readonly dir: string, initial: PersistedState) {
    this.snapshotValue = initial.snapshot;
    this.hardStateValue = initial.hardState;
  }

  /** Opens (or creates, with the bootstrap configuration) the state in dir. */
  static open(dir: string, bootstrap: ConfState): { storage: DurableStorage; state: PersistedState; report: RecoveryReport } {
    mkdirSync(dir, { recursive: true });
    const initial = bootstrapState(bootstrap);
    const snapshot = readChecked(join(dir, 'snapshot'), (r) => readSnapshot(r)) ?? initial.snapshot;
    const hardState = readChecked(join(dir, 'hardstate'), readHardState) ?? initial.hardState;
    const storage = new DurableStorage(dir, { ...initial, snapshot, hardState });
    const { entries, report } = storage.recoverLog();
    return { storage, state: { hardState, snapshot, entries }, report };
  }

  get snapshot(): Snapshot { return this.snapshotValue; }

  /** Writes a Ready's snapshot, entries and hard state, in that order, each fsynced. */
  persist(ready: Ready): void {
    if (ready.snapshot !== undefined) this.installSnapshot(ready.snapshot);
    if (ready.entries.length > 0) this.appendEntries(ready.entries);
    if (ready.hardState !== undefined && this.hardStateWorthWriting(ready)) this.saveHardState(ready.hardState);
  }

  /**
   * Term and vote must be durable before any message depending on them leaves (thesis §3.8). A
   * commitIndex alone need not be: a lower one on disk is always safe, the leader repeats it (etcd
   * MustSync). It rides along with entry writes instead of costing three fsyncs per commit.
   */
  private hardStateWorthWriting(ready: Ready): boolean {
    const next = ready.hardState!;
    const current = this.hardStateValue;
    return ready.mustSync || next.term !== current.term || next.vote !== current.vote;
  }

  /** The application's snapshot: written atomically, then the log is rewritten without the prefix it covers. */
  saveSnapshot(snapshot: Snapshot, entriesAfter: readonly Entry[]): void {
    this.writeSnapshotFile(snapshot);
    this.rewriteLog(snapshot, entriesAfter.filter((e) => e.index > snapshot.metadata.index));
  }

  close(): void {
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = -1;
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.writeSnapshotFile(snapshot);
    this.rewriteLog(snapshot, []);
  }

  private writeSnapshotFile(snapshot: Snapshot): void {
    const w = new Writer();
    writeSnapshot(w, snapshot);
    this.writeAtomically('snapshot', w.finish());
    this.snapshotValue = snapshot;
  }

  private saveHardState(hardState: HardState): void {
    const body = new Writer().u64(hardState.term).u32(hardState.vote).u64(hardState.commitIndex).finish();
    this.writeAtomically('hardstate', body);
    this.hardStateValue = hardState;
  }

  get hardState(): HardState { return this.hardStateValue; }

  private appendEntries(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    invariant(first >= this.firstIndex && first <= this.firstIndex + this.offsets.length, () => `log write at ${first} leaves a gap`);
    const keep = first - this.firstIndex;
    if (keep < this.offsets.length) {
      this.logBytes = this.offsets[keep]!;
      this.offsets.length = keep;
      ftruncateSync(this.logFd, this.logBytes);
    }
    const chunks: Buffer[] = [];
    for (const entry of entries) {
      const record = encodeRecord(entry);
      this.offsets.push(this.logBytes + chunks.reduce((sum, c) => sum + c.length, 0));
      chunks.push(record);
    }
    const data = Buffer.concat(chunks);
    writeAll(this.logFd, data, this.logBytes);
    this.logBytes += data.length;
    this.fsync(this.logFd);
  }

  /** Replaces the log file atomically with one that follows snapshot and holds entries. */
  private rewriteLog(snapshot: Snapshot, entries: readonly Entry[]): void {
    const tmp = join(this.dir, 'log.tmp');
    const fd = openSync(tmp, 'w');
    const header = encodeHeader(snapshot.metadata.index, snapshot.metadata.term);
    const offsets: number[] = [];
    let bytes = header.length;
    const chunks = [header];
    for (const entry of entries) {
      const record = encodeRecord(entry);
      offsets.push(bytes);
      bytes += record.length;
      chunks.push(record);
    }
    writeAll(fd, Buffer.concat(chunks), 0);
    this.fsync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, 'log'));
    this.fsyncDir();
    this.close();
    this.logFd = openSync(join(this.dir, 'log'), 'r+');
    this.logBytes = bytes;
    this.offsets = offsets;
    this.firstIndex = snapshot.metadata.index + 1;
  }

  /**
   * Reads the log after the snapshot. A torn or corrupt tail is truncated. A log that does not follow
   * the snapshot (a crash between writing a received snapshot and replacing the log) is dropped.
   */
  private recoverLog(): { entries: Entry[]; report: RecoveryReport } {
    const path = join(this.dir, 'log');
    const meta = this.snapshotValue.metadata;
    if (!existsSync(path)) {
      this.rewriteLog(this.snapshotValue, []);
      return { entries: [], report: { entries: 0, tornBytes: 0, droppedStaleLog: false } };
    }
    const data = readFileSync(path);
    const parsed = parseLog(data);
    const follows = (parsed.baseIndex === meta.index && parsed.baseTerm === meta.term)
      || parsed.entries.some((e) => e.index === meta.index && e.term === meta.term);
    const entries = follows ? parsed.entries.filter((e) => e.index > meta.index) : [];
    const contiguous = entries.every((e, i) => e.index === meta.index + 1 + i);
    const kept = contiguous ? entries : [];
    this.rewriteLog(this.snapshotValue, kept);
    const report = { entries: kept.length, tornBytes: data.length - parsed.validBytes, droppedStaleLog: !follows || !contiguous };
    return { entries: kept, report };
  }

  private writeAtomically(name: string, body: Buffer): void {
    const tmp = join(this.dir, `${name}.tmp`);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(body) >>> 0);
    const fd = openSync(tmp, 'w');
    writeAll(fd, Buffer.concat([crc, body]), 0);
    this.fsync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, name));
    this.fsyncDir();
  }

  private fsync(fd: number): void {
    fsyncSync(fd);
    this.fsyncCount++;
  }

  private fsyncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
}

function encodeHeader(baseIndex: number, baseTerm: number): Buffer {
  const body = new Writer().u32(logMagic).u64(baseIndex).u64(baseTerm).finish();
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(body) >>> 0);
  return Buffer.concat([body, crc]);
}

function encodeRecord(entry: Entry): Buffer {
  const w = new Writer();
  writeEntry(w, entry);
  const body = w.finish();
  const header = Buffer.alloc(recordHeaderBytes);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32c(body) >>> 0, 4);
  return Buffer.concat([header, body]);
}

interface ParsedLog {
  readonly baseIndex: number;
  readonly baseTerm: number;
  readonly entries: Entry[];
  readonly validBytes: number;
}

/** The longest valid prefix of a log file. */
export function parseLog(data: Buffer): ParsedLog {
  if (data.length < headerBytes) return { baseIndex: -1, baseTerm: -1, entries: [], validBytes: 0 };
  const headerBody = data.subarray(0, headerBytes - 4);
  const header = new Reader(headerBody);
  const magic = header.u32();
  if (magic !== logMagic || (crc32c(headerBody) >>> 0) !== data.readUInt32BE(headerBytes - 4)) {
    return { baseIndex: -1, baseTerm: -1, entries: [], validBytes: 0 };
  }
  const baseIndex = header.u64();
  const baseTerm = header.u64();
  const entries: Entry[] = [];
  let offset = headerBytes;
  while (offset + recordHeaderBytes <= data.length) {
    const length = data.readUInt32BE(offset);
    const crc = data.readUInt32BE(offset + 4);
    const end = offset + recordHeaderBytes + length;
    if (end > data.length) break;
    const body = data.subarray(offset + recordHeaderBytes, end);
    if ((crc32c(body) >>> 0) !== crc) break;
    const entry = decodeEntry(body);
    if (entry === undefined) break;
    entries.push(entry);
    offset = end;
  }
  return { baseIndex, baseTerm, entries, validBytes: offset };
}

function decodeEntry(body: Buffer): Entry | undefined {
  try {
    const r = new Reader(body);
    const entry = readEntry(r);
    r.end();
    return entry;
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}

function readHardState(r: Reader): HardState {
  return { term: r.u64(), vote: r.u32(), commitIndex: r.u64() };
}

/** Reads a CRC-protected file written by writeAtomically; undefined when absent. */
function readChecked<T>(path: string, decode: (r: Reader) => T): T | undefined {
  if (!existsSync(path)) return undefined;
  const data = readFileSync(path);
  invariant(data.length >= 4, () => `${path} is truncated`);
  const body = data.subarray(4);
  invariant((crc32c(body) >>> 0) === data.readUInt32BE(0), () => `${path} fails its checksum`);
  const r = new Reader(body);
  const value = decode(r);
  r.end();
  return value;
}
