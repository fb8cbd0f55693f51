// The interop client registry: how to run each client's scenario program, and whether its toolchain
// is installed (scripts/interop/setup.sh puts the pieces under ~/.cache/runnel/interop).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INTEROP_CACHE = process.env.RUNNEL_INTEROP_CACHE ?? join(homedir(), '.cache', 'runnel', 'interop');

export const SCENARIOS = ['metadata', 'produce-consume', 'list-offsets', 'configs', 'delete-records', 'group', 'describe-state', 'transactions', 'consumer-848'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ClientSpec {
  name: string;
  /** What it is, for the README. */
  label: string;
  command(): string[];
  /** Empty string when runnable, else why not (e.g. "run scripts/interop/setup.sh"). */
  missing(): string;
}

const TSX = ['node', '--import', 'tsx'];
const javaTarget = join(INTEROP_CACHE, 'java', 'target');

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export const CLIENTS: ClientSpec[] = [
  {
    name: 'java', label: 'Java kafka-clients 4.1.1',
    command: () => ['java', '-cp', `${javaTarget}/classes:${javaTarget}/deps/*`, 'dev.runnel.interop.Main'],
    missing: () => existsSync(join(javaTarget, 'classes', 'dev', 'runnel', 'interop', 'Main.class')) ? '' : 'java client not built (scripts/interop/setup.sh)',
  },
  {
    name: 'kcat', label: 'librdkafka via kcat (Debian)',
    command: () => [...TSX, join(REPO, 'test/interop/clients/kcat.ts')],
    missing: () => hasCommand(process.env.KCAT ?? 'kcat') ? '' : 'kcat not installed (apt-get install kcat)',
  },
  {
    name: 'confluent-js', label: '@confluentinc/kafka-javascript (librdkafka, built from source)',
    command: () => [...TSX, join(REPO, 'test/interop/clients/confluent.ts')],
    missing: () => existsSync(join(INTEROP_CACHE, 'confluent-js', 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release'))
      ? '' : '@confluentinc/kafka-javascript not built (scripts/interop/setup.sh)',
  },
  {
    name: 'franz-go', label: 'franz-go (kgo + kadm)',
    command: () => [join(INTEROP_CACHE, 'franz-go', 'interop-franz')],
    missing: () => existsSync(join(INTEROP_CACHE, 'franz-go', 'interop-franz')) ? '' : 'franz-go client not built (scripts/interop/setup.sh)',
  },
  {
    name: 'kafkajs', label: 'KafkaJS 2.2.4',
    command: () => [...TSX, join(REPO, 'test/interop/clients/kafkajs.ts')],
    missing: () => '',
  },
  {
    name: 'platformatic', label: '@platformatic/kafka',
    command: () => [...TSX, join(REPO, 'test/interop/clients/platformatic.ts')],
    missing: () => existsSync(join(REPO, 'test/interop/clients/platformatic.ts')) ? '' : 'not written yet',
  },
  {
    name: 'kafka-python', label: 'kafka-python (PyPI)',
    command: () => [join(INTEROP_CACHE, 'venv', 'bin', 'python'), join(REPO, 'test/interop/python/client.py')],
    missing: () => existsSync(join(INTEROP_CACHE, 'venv', 'bin', 'python')) ? '' : 'kafka-python venv missing (scripts/interop/setup.sh)',
  },
];

export interface ScenarioResult {
  client: string;
  scenario: string;
  ok: boolean;
  skipped?: boolean;
  detail: string;
  ms: number;
}

/** Runs one client × scenario in a child process, bounded by timeoutMs. Never throws. */
export function runScenario(client: ClientSpec, bootstrap: string, scenario: string, timeoutMs: number, env: Record<string, string> = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const missing = client.missing();
  if (missing) return Promise.resolve({ client: client.name, scenario, ok: false, skipped: true, detail: missing, ms: 0 });
  const [cmd, ...args] = client.command();
  return new Promise((resolveResult) => {
    const child = spawn(cmd!, [...args, bootstrap, scenario], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { if (out.length < 1 << 20) out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { if (err.length < 1 << 16) err += d.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      const line = out.split('\n').reverse().find((l) => l.startsWith('{"client"'));
      if (timedOut) { resolveResult({ client: client.name, scenario, ok: false, detail: `timeout after ${timeoutMs} ms`, ms }); return; }
      if (!line) {
        resolveResult({ client: client.name, scenario, ok: false, detail: `no result line (exit ${code}): ${(err || out).trim().slice(-300)}`, ms });
        return;
      }
      try {
        const r = JSON.parse(line) as Omit<ScenarioResult, 'ms'>;
        resolveResult({ client: client.name, scenario, ok: r.ok === true, skipped: r.skipped === true ? true : undefined, detail: String(r.detail ?? ''), ms });
      } catch {
        resolveResult({ client: client.name, scenario, ok: false, detail: `unparsable result: ${line.slice(0, 200)}`, ms });
      }
    });
  });
}
