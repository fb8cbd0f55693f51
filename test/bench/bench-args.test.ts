import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { BENCH_USAGE, parseBenchArgs } from '../../bench/macro/bench-args.js';
import { descendants } from '../../bench/macro/process-cleanup.js';

test('bench --help prints the options and exits 0 before starting anything', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/macro/bench.ts', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), BENCH_USAGE.trim());
  assert.doesNotMatch(result.stderr, /building Runnel|starting/);
  for (const flag of ['--quick', '--records', '--franz-records', '--repeat', '--e2e-messages', '--topologies', '--workloads',
    '--runnel-mode', '--runnel-set', '--runnel-durability', '--kafka-durability', '--help']) assert.ok(BENCH_USAGE.includes(flag), flag);
});

test('bench refuses an unknown option or a bad value with exit 2', () => {
  for (const args of [['--recrods', '10'], ['--repeat', 'three'], ['--runnel-mode', 'jit'], ['--runnel-set', 'novalue'], ['extra']]) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/macro/bench.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^bench: /);
  }
});

test('parseBenchArgs: numbers, repeatable --runnel-set', () => {
  const args = parseBenchArgs(['--records', '6,000,000', '--runnel-set', 'a=1', '--runnel-set', 'b=2', '--quick']);
  assert.equal(args.records, 6_000_000);
  assert.deepEqual(args.runnelSet, ['a=1', 'b=2']);
  assert.equal(args.quick, true);
  assert.equal(parseBenchArgs([]).repeat, undefined);
});

test('a bench process killed with SIGTERM stops its children and grandchildren', { timeout: 60_000 }, async () => {
  // Stands in for the bench: installs the same handler, starts a child (a broker) that starts a
  // grandchild (a JVM's helper), reports their pids, and waits.
  const script = `
    import { spawn } from 'node:child_process';
    import { stopChildrenOnSignal } from './bench/macro/process-cleanup.ts';
    stopChildrenOnSignal();
    const child = spawn('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', (d) => console.log(JSON.stringify({ child: child.pid, grandchild: Number(String(d).trim()) })));
    setInterval(() => {}, 1000);
  `;
  const bench = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: bench.stdout! }), 'line') as [string];
  const pids = JSON.parse(line) as { child: number; grandchild: number };
  assert.deepEqual(descendants(bench.pid!).sort(), [pids.child, pids.grandchild].sort());
  const exited = once(bench, 'exit');
  bench.kill('SIGTERM');
  const [code] = await exited as [number | null];
  assert.equal(code, 143);
  for (const pid of [pids.child, pids.grandchild]) {
    assert.throws(() => process.kill(pid, 0), `pid ${pid} outlived the bench`);
  }
});
