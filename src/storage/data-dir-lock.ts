/**
 * `{log.dirs}/.lock`: one broker per data directory, for the life of the process (issue 26, defect 6:
 * two brokers sharing a directory both wrote to it and left it unreadable). Kafka takes
 * `FileChannel.tryLock` on the same file name (LogManager.lockLogDirs); Node has no flock/fcntl, so
 * the lock here is the file's existence plus who made it:
 *
 * - Taken by linking a complete temporary file to `.lock` (link fails with EEXIST if it exists), so
 *   the file is never seen empty or half written.
 * - The file names its holder: pid, the process's start time (/proc/<pid>/stat field 22, clock ticks
 *   since boot), the kernel's boot id, the pid namespace and the host name.
 * - A lock is stale, and taken over, when its holder is provably gone: another boot; or the same boot
 *   and pid namespace (so the pid means the same process) and that pid is dead, started at another
 *   time (the pid was reused), or is this process's own pid without this process holding the lock (a
 *   container restarted after kill -9: the broker is pid 1 again).
 * - A holder that cannot be checked (another pid namespace, e.g. another container sharing the volume,
 *   or another host) or a file not written by Runnel is treated as alive: the start is refused and the
 *   message says which file to delete once no broker uses the directory.
 * - Takeover renames the stale file aside and checks it was still the stale one before creating a new
 *   lock, so two brokers starting at once over a stale lock cannot both take it.
 *
 * Released (the file deleted, if it is still ours) on clean close; a crash leaves a stale file that
 * the next start takes over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, link, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE_NAME = '.lock';
/** Each attempt either takes the lock, refuses, or saw the file change under it; bounded (STYLE.md 8). */
const ACQUIRE_ATTEMPTS_MAX = 10;

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export interface DataDirLock {
  readonly path: string;
  /** Deletes the lock file if it is still this process's. Idempotent. */
  release(): Promise<void>;
}

interface Holder {
  readonly pid: number;
  readonly startTime: string;
  readonly bootId: string;
  readonly pidNamespace: string;
  readonly host: string;
}

/** Directories this process holds (realpaths): a second Broker.start in one process is refused too. */
const heldHere = new Set<string>();

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const dir = await realpath(dataDir);
  const path = join(dir, LOCK_FILE_NAME);
  if (heldHere.has(dir)) throw lockedError(path, describeHolder(currentHolder()), 'this process');
  const mine = formatHolder(currentHolder());
  for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
    if (await tryCreate(path, mine)) {
      heldHere.add(dir);
      return lockHandle(dir, path, mine);
    }
    const text = await readFile(path, 'utf8').catch(ignoreMissing);
    if (text === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(text);
    if (holder === undefined) throw lockedError(path, 'a process that is not a Runnel broker (unrecognised content)', undefined);
    if (!isStale(holder)) throw lockedError(path, describeHolder(holder), undefined);
    await takeOverStale(path, text);
  }
  throw new DataDirLockedError(`could not lock ${path}: it kept changing over ${ACQUIRE_ATTEMPTS_MAX} attempts`);
}

function lockHandle(dir: string, path: string, mine: string): DataDirLock {
  let released = false;
  return {
    path,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      const text = await readFile(path, 'utf8').catch(ignoreMissing);
      if (text === mine) await unlink(path).catch(ignoreMissing);
    },
  };
}

/** Links a complete temporary file to `path`; false when `path` exists. */
async function tryCreate(path: string, content: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, content, { flag: 'wx' });
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(ignoreMissing);
  }
}

/**
 * Moves the stale file aside, then checks that what moved is the file judged stale: if another broker
 * took the lock in between, its fresh file is put back (link: only if no third file appeared) and the
 * next attempt sees it alive.
 */
async function takeOverStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    ignoreMissing(error);
    return;
  }
  const moved = await readFile(aside, 'utf8');
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(ignoreMissing);
}

function isStale(holder: Holder): boolean {
  const me = currentHolder();
  if (holder.bootId !== '' && me.bootId !== '' && holder.bootId !== me.bootId) return true;
  const samePidSpace = holder.pidNamespace !== '' || me.pidNamespace !== ''
    ? holder.pidNamespace === me.pidNamespace && holder.bootId === me.bootId
    : holder.host === me.host;
  if (!samePidSpace) return false;
  // Our own pid in a lock this process does not hold: a previous incarnation (heldHere was checked).
  if (holder.pid === process.pid) return true;
  if (!pidAlive(holder.pid)) return true;
  // Killed but not yet reaped by its parent: gone as far as the directory is concerned.
  if (processState(holder.pid) === 'Z') return true;
  const startTime = processStartTime(holder.pid);
  return startTime !== '' && holder.startTime !== '' && startTime !== holder.startTime;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function currentHolder(): Holder {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    bootId: readTrimmed('/proc/sys/kernel/random/boot_id'),
    pidNamespace: readLinkOrEmpty('/proc/self/ns/pid'),
    host: hostname(),
  };
}

/** Field 22 of /proc/<pid>/stat (fields counted after the parenthesised command name); '' if unknown. */
function processStartTime(pid: number): string {
  return statFields(pid)[19] ?? '';
}

/** Field 3 of /proc/<pid>/stat: R, S, D, Z (zombie), …; '' if unknown. */
function processState(pid: number): string {
  return statFields(pid)[0] ?? '';
}

/** /proc/<pid>/stat from field 3 on (the command name, field 2, may hold spaces and parentheses). */
function statFields(pid: number): string[] {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  return stat === '' ? [] : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function readLinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function formatHolder(holder: Holder): string {
  return [
    '# Runnel data directory lock (see src/storage/data-dir-lock.ts)',
    `pid=${holder.pid}`, `start.time=${holder.startTime}`, `boot.id=${holder.bootId}`,
    `pid.namespace=${holder.pidNamespace}`, `host=${holder.host}`, '',
  ].join('\n');
}

function parseHolder(text: string): Holder | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (!line.startsWith('#') && at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  const pid = Number(fields.get('pid'));
  if (!Number.isInteger(pid) || pid <= 0 || !fields.has('host')) return undefined;
  return {
    pid,
    startTime: fields.get('start.time') ?? '',
    bootId: fields.get('boot.id') ?? '',
    pidNamespace: fields.get('pid.namespace') ?? '',
    host: fields.get('host') ?? '',
  };
}

function describeHolder(holder: Holder): string {
  return `process ${holder.pid} on host ${holder.host}`;
}

function lockedError(path: string, holder: string, by: string | undefined): DataDirLockedError {
  return new DataDirLockedError(
    `data directory is in use: ${path} is held by ${by ?? holder}. Another Runnel broker is using this ` +
    `directory (two brokers sharing one directory corrupt it). Stop that broker or give this one another ` +
    `log.dirs; if no broker uses the directory any more, delete ${path}.`,
  );
}

function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}
