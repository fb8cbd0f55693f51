/**
 * Helpers of the standalone fault tests: Runnel as a child process through its real CLI
 * (`src/cli/main.ts start --port P --data-dir D`, default fsync durability) that can be SIGKILLed and
 * restarted on the same data directory and port; the Java program in test/faults/java/; a seeded PRNG.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiVersionsOk } from '../../scripts/interop/kafka-wire.js';
import { RUNNEL_NODE_FLAGS } from '../../src/cli/node-flags.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INTEROP_CACHE = process.env.RUNNEL_INTEROP_CACHE ?? join(homedir(), '.cache', 'runnel', 'interop');
export const JAVA_DEPS = join(INTEROP_CACHE, 'java', 'target', 'deps');
export const JAVA_PROGRAM = join(REPO, 'test', 'faults', 'java', 'StandaloneKill.java');
const START_MS = 30_000;

/**
 * The flags every broker child of the fault tests runs with: the CLI's own, then RUNNEL_FAULT_NODE_FLAGS
 * (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the brokers; Node refuses
 * --cpu-prof in NODE_OPTIONS).
 */
export const FAULT_NODE_FLAGS: readonly string[] = [...RUNNEL_NODE_FLAGS, ...(process.env.RUNNEL_FAULT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];

/** Empty when `java` and the interop cache's kafka-clients jars are there, else why not. */
export function javaMissing(): string {
  if (spawnSync('java', ['-version']).status !== 0) return 'no java on PATH';
  if (!existsSync(join(JAVA_DEPS, 'kafka-clients-4.1.1.jar'))) return `no kafka-clients-4.1.1.jar in ${JAVA_DEPS} (run scripts/interop/setup.sh)`;
  return '';
}

/** Re-exported for the fault tests that import it from here. */
export { freePort } from '../network/free-port.js';

export interface BrokerChild {
  child: ChildProcess;
  bootstrap: string;
  /** The last few KB of the broker's stdout/stderr (pino lines), for failure messages. */
  log(): string;
}

/**
 * Spawns the CLI on dataDir:port and waits until it answers ApiVersions. `env` is added to the child's
 * environment (RUNNEL_* variables are broker properties).
 */
export async function startBrokerChild(dataDir: string, port: number, env: Record<string, string> = {}): Promise<BrokerChild> {
  const child = spawn(process.execPath, [...FAULT_NODE_FLAGS, '--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), 'start',
    '--port', String(port), '--data-dir', dataDir, '--log-level', process.env.RUNNEL_FAULT_LOG_LEVEL ?? 'warn'],
  { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  // RUNNEL_FAULT_LOG_FILE keeps every line of every incarnation (the tail below keeps 8,000 characters).
  const logFile = process.env.RUNNEL_FAULT_LOG_FILE;
  const append = (d: Buffer): void => {
    log = (log + d.toString()).slice(-8000);
    if (logFile !== undefined) appendFileSync(logFile, d);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const bootstrap = `127.0.0.1:${port}`;
  const broker: BrokerChild = { child, bootstrap, log: () => log };
  const deadline = Date.now() + START_MS;
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`broker exited (${child.exitCode ?? child.signalCode}): ${log}`);
    if (await apiVersionsOk(bootstrap, 1000)) return broker;
    await new Promise((r) => setTimeout(r, 50));
  }
  await kill9(broker);
  throw new Error(`broker did not answer ApiVersions on ${bootstrap} within ${START_MS} ms: ${log}`);
}

export function kill9(broker: BrokerChild): Promise<void> {
  return signal(broker, 'SIGKILL', 5_000);
}

/** SIGTERM (the CLI closes the broker gracefully), SIGKILL after graceMs. */
export function stopClean(broker: BrokerChild, graceMs = 20_000): Promise<void> {
  return signal(broker, 'SIGTERM', graceMs);
}

function signal(broker: BrokerChild, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  const { child } = broker;
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolveExit(); return; }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolveExit(); });
    child.kill(sig);
  });
}

/** mulberry32: a small seeded PRNG; one seed decides every random choice of a test. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(): number {
  const env = process.env.STANDALONE_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

export interface JavaRun {
  child: ChildProcess;
  /** Resolves with the exit code once the process ended (null when killed). */
  exited: Promise<number | null>;
  err(): string;
}

/** Runs StandaloneKill.java <args>; every stdout line goes to onLine. Killed after timeoutMs. */
export function runJava(args: string[], onLine: (line: string) => void, timeoutMs: number): JavaRun {
  return runLines('java', ['-cp', `${JAVA_DEPS}/*`, JAVA_PROGRAM, ...args], onLine, timeoutMs);
}

/** Runs a client program; every stdout line goes to onLine. Killed after timeoutMs. */
export function runLines(command: string, args: string[], onLine: (line: string) => void, timeoutMs: number): JavaRun {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let pending = '';
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
  child.stdout?.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolveExit) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      if (pending !== '') onLine(pending);
      resolveExit(code);
    });
  });
  return { child, exited, err: () => err };
}

export function killJava(run: JavaRun): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return Promise.resolve();
  run.child.kill('SIGKILL');
  return run.exited.then(() => undefined);
}
