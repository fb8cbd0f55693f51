// What the bench and the test that checks its franz-go load generator (test/interop/franz-perf.test.ts)
// share: where franz-perf is built, how a load generator runs (bounded in time and output), and the
// producer summary line — ProducerPerformance's, which franz-perf prints too with fractional milliseconds.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { INTEROP_CACHE } from '../../test/interop/clients.js';

/** Built by scripts/interop/setup.sh --only go. */
export const FRANZ_PERF = join(INTEROP_CACHE, 'franz-go', 'franz-perf');

export const PRODUCER_SUMMARY_RE = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th/;

export interface ProducerSummary { records: number; msgPerSec: number; mbPerSec: number; p50Ms: number; p99Ms: number; p999Ms: number }

export function parseProducerSummary(out: string): ProducerSummary | undefined {
  const m = PRODUCER_SUMMARY_RE.exec(out);
  if (!m) return undefined;
  return { records: Number(m[1]), msgPerSec: Number(m[2]), mbPerSec: Number(m[3]), p50Ms: Number(m[6]), p99Ms: Number(m[8]), p999Ms: Number(m[9]) };
}

export interface ToolResult { code: number | null; out: string; timedOut: boolean }

/** Runs command; SIGKILL after timeoutMs. `out` is the last 20,000 characters of stdout and stderr. Never rejects. */
export function runProcess(command: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolveTool) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-20_000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code) => { clearTimeout(timer); resolveTool({ code, out, timedOut }); });
  });
}
