// A killed bench must not leave brokers or JVMs behind (issue #27): the brokers (a Kafka JVM per node,
// a Runnel node process per variant) and the load generators (ProducerPerformance JVMs, franz-perf)
// are this process's children and grandchildren. On SIGINT, SIGTERM or SIGHUP every descendant is sent
// SIGTERM, then SIGKILL after a grace period, and the bench exits 128 + the signal number. Descendants
// are found by parent pid in /proc (Linux), so nothing is matched by name.
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

const GRACE_MS = 5_000;
const POLL_MS = 100;

/** Pids of every live descendant of `root` (children first, then theirs), from /proc/<pid>/stat. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** SIGTERM to every descendant, SIGKILL to those alive after the grace period. */
export async function stopDescendants(graceMs = GRACE_MS): Promise<void> {
  const pids = descendants(process.pid);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  // Children started meanwhile (a JVM forking) are caught by a second walk.
  for (const pid of [...pids, ...descendants(process.pid)]) if (alive(pid)) signal(pid, 'SIGKILL');
}

/** Installs the signal handlers; `onSignal` may print a note first. A second signal exits at once. */
export function stopChildrenOnSignal(onSignal: (signal: NodeJS.Signals) => void = () => {}): void {
  let stopping = false;
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      const code = 128 + (constants.signals[name] ?? 0);
      if (stopping) process.exit(code);
      stopping = true;
      onSignal(name);
      void stopDescendants().finally(() => process.exit(code));
    });
  }
}
