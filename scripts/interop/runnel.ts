// Starts Runnel as a separate process (so its CPU and memory can be measured from /proc, and a crash
// cannot take the harness down): `node dist/src/cli/main.js start --port P --data-dir D`, or the same
// entry point from source through tsx when there is no build (mode 'src').
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiVersionsOk } from './kafka-wire.js';
import { stopChild } from '../kafka/kafka.js';
import { RUNNEL_NODE_FLAGS } from '../../src/cli/node-flags.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunnelProcess {
  bootstrapServers: string;
  pid: number;
  dataDir: string;
  logFile: string;
  /** Milliseconds from spawn to the first ApiVersions answer. */
  readyMs: number;
  stop(): Promise<void>;
}

export type RunnelMode = 'dist' | 'src';

export function runnelEntry(mode: RunnelMode): string[] | undefined {
  const dist = join(REPO, 'dist', 'src', 'cli', 'main.js');
  const src = join(REPO, 'src', 'cli', 'main.ts');
  if (mode === 'dist') return existsSync(dist) ? [dist] : undefined;
  return existsSync(src) ? ['--import', 'tsx', src] : undefined;
}

export async function startRunnel(opts: { port: number; mode?: RunnelMode; dataDir?: string; extra?: string[]; readyTimeoutMs?: number }): Promise<RunnelProcess> {
  const mode = opts.mode ?? 'src';
  const entry = runnelEntry(mode);
  if (!entry) throw new Error(mode === 'dist' ? 'no dist/src/cli/main.js (run npm run build)' : 'no src/cli/main.ts');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'runnel-data-'));
  const logFile = join(dataDir, '..', `${dataDir.split('/').pop()}.log`);
  const out = openSync(logFile, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [...RUNNEL_NODE_FLAGS, ...entry, 'start', '--port', String(opts.port), '--data-dir', dataDir,
    '--log-level', 'warn', ...(opts.extra ?? [])], { cwd: REPO, stdio: ['ignore', out, out] });
  closeSync(out);
  const address = `127.0.0.1:${opts.port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child, 10_000);
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`runnel exited with code ${child.exitCode} (log: ${logFile})`);
    }
    if (await apiVersionsOk(address, 1000)) {
      return { bootstrapServers: address, pid: child.pid ?? 0, dataDir, logFile, readyMs: Date.now() - started, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`runnel did not answer ApiVersions on ${address} within ${opts.readyTimeoutMs ?? 30_000} ms (log: ${logFile})`);
}
