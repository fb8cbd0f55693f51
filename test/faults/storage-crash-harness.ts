/**
 * Crash harness: runs the child (storage-crash-child.ts) against one data directory `kills` times,
 * SIGKILLing it at random moments (sometimes a clean SIGTERM), and carries every acknowledged-durable
 * batch into the next child's verification. One seed decides the schedule; it is printed on failure.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prng } from '../../src/common/prng.js';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'storage-crash-child.ts');
const ROUND_TIMEOUT_MS = 30_000;

export interface CrashRunResult {
  rounds: number;
  kills: number;
  acknowledged: number;
  failures: string[];
}

interface RoundResult {
  acks: Array<[number, number, number]>;
  failure: string | undefined;
}

function runChild(dataDir: string, ackedPath: string, run: number, killAfterMs: number, clean: boolean): Promise<RoundResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, ackedPath, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Array<[number, number, number]> = [];
    let failure: string | undefined;
    let buffered = '';
    let stderr = '';
    const timeout = setTimeout(() => { failure ??= 'round timed out'; child.kill('SIGKILL'); }, ROUND_TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('A ')) {
          const [, base, last, r] = line.split(' ');
          acks.push([Number(base), Number(last), Number(r)]);
        } else if (line.startsWith('FAIL')) {
          failure = line;
        } else if (line === 'READY') {
          setTimeout(() => child.kill(clean ? 'SIGTERM' : 'SIGKILL'), killAfterMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (failure === undefined && signal !== 'SIGKILL' && code !== 0) failure = `child exited ${code} ${signal}: ${stderr}`;
      resolve({ acks, failure });
    });
  });
}

export async function runCrashRounds(dataDir: string, kills: number, seed: number): Promise<CrashRunResult> {
  const prng = new Prng(seed);
  const ackedPath = join(dataDir, '..', `acked-${seed}.json`);
  const acked: Array<[number, number, number]> = [];
  const failures: string[] = [];
  let killCount = 0;
  let round = 0;
  // The last round only verifies (killed right after READY), so all acks of the previous one are checked.
  for (; killCount < kills && failures.length === 0; round++) {
    writeFileSync(ackedPath, JSON.stringify(acked));
    const clean = prng.chance(0.1);
    const result = await runChild(dataDir, ackedPath, round, prng.int(0, 120), clean);
    if (!clean) killCount++;
    acked.push(...result.acks);
    if (result.failure !== undefined) failures.push(`seed ${seed} round ${round}: ${result.failure}`);
  }
  if (failures.length === 0) {
    writeFileSync(ackedPath, JSON.stringify(acked));
    const final = await runChild(dataDir, ackedPath, round, 0, false);
    if (final.failure !== undefined) failures.push(`seed ${seed} final: ${final.failure}`);
  }
  return { rounds: round, kills: killCount, acknowledged: acked.length, failures };
}
