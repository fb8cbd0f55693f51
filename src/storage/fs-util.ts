/**
 * Promise wrappers over raw descriptors (fewer allocations than FileHandle on the hot path) and the
 * crash-safe "write temp, fsync, rename, fsync directory" used for every small metadata file.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';

export function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

export function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function ftruncateFd(fd: number, size: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, size, (err) => (err ? reject(err) : resolve())));
}

function pwritevOnce(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, buffers, position, (err, written) => (err ? reject(err) : resolve(written)));
  });
}

/** Writes all of buffers at position, continuing after short writes (bounded: each round makes progress). */
export async function pwritevFull(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let remaining = buffers.filter((b) => b.length > 0);
  let at = position;
  while (remaining.length > 0) {
    const written = await pwritevOnce(fd, remaining, at);
    if (written <= 0) throw new Error(`writev made no progress at position ${at}`);
    at += written;
    remaining = dropBytes(remaining, written);
  }
}

/**
 * pwritevFull on the calling thread: for page-cache writes (`none` mode), where handing the copy to the
 * thread pool costs more than the copy. Waking a pool thread for each write let it preempt the event loop
 * inside the submission on a 2-core machine (docs/benchmarks.md, "Runtime probes").
 */
export function pwritevFullSync(fd: number, buffers: Buffer[], position: number): void {
  let remaining = buffers.filter((b) => b.length > 0);
  let at = position;
  while (remaining.length > 0) {
    const written = fs.writevSync(fd, remaining, at);
    if (written <= 0) throw new Error(`writev made no progress at position ${at}`);
    at += written;
    remaining = dropBytes(remaining, written);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let i = 0;
  while (i < buffers.length && left >= (buffers[i] as Buffer).length) {
    left -= (buffers[i] as Buffer).length;
    i++;
  }
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(left);
  return rest;
}

function preadOnce(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Reads up to length bytes at position into buf; returns the count (short only at end of file). */
export async function preadFull(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await preadOnce(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

let temporaries = 0;

/**
 * Replaces path atomically and durably: readers see the old or the new content, never a mix. The
 * temporary name is unique so concurrent writers of the same file cannot rename each other's file away.
 */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.${process.pid}-${temporaries++}.tmp`;
  const fd = await openFd(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC);
  try {
    await pwritevFull(fd, [typeof data === 'string' ? Buffer.from(data) : data], 0);
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
  await fs.promises.rename(tmp, path);
  await fsyncDirectory(dirname(path));
}

export async function fsyncDirectory(path: string): Promise<void> {
  const fd = await openFd(path, fs.constants.O_RDONLY);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await fs.promises.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
