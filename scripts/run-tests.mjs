#!/usr/bin/env node
// Runs the test suite with Node's built-in runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/, excluding test/interop, test/faults and
// test/install, which need real clients, child processes or the npm registry: CI runs them in their own steps)
// Node 20's --test does not expand globs, so the files are collected here.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const STDOUT_BLOCKING = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'test-stdout-blocking.mjs')).href;
const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];
const excluded = args.length > 0 ? [] : ['test/interop', 'test/faults', 'test/install'];

function collect(path, out) {
  if (!existsSync(path)) return;
  if (excluded.some((e) => path === e)) return;
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (/\.test\.(ts|mjs|js)$/.test(path)) {
    out.push(path);
  }
}

// TEST_SKIP_NODE_INDEPENDENT=1 (CI's runs on the second and third Node lines, .ci/run) leaves out the files
// whose whole cost is seed-count work on IO-free code: simulations and fuzzers of the cores with injected
// clocks and PRNGs, that touch no socket, file, child process or timer, so a Node line cannot change what they
// find (it only changes how fast V8 runs them). The first run of `npm test` (Node 20 in CI) runs them, and CI
// runs the simulations again at 1,000 seeds in their own sections. Every other file runs on every line.
const NODE_INDEPENDENT = [
  'test/sim/simulation.test.ts', // Raft over the simulated network: 200 seeds + injected bugs (CI: npm run sim, 1,000 seeds)
  'test/sim/controller-sim.test.ts', // the controller core over simulated Raft (CI: npm run sim -- --controller)
  'test/sim/replication/simulation.test.ts', // replication cores, 100 seeds + injected bugs (CI: npm run sim:replication)
  'test/group/fuzz.test.ts', // the group coordinator core with a ManualClock, 25 seeds of random requests
  'test/group/churn-simulation.test.ts', // the same core, 20 seeds of simulated churn on a ManualClock
  'test/protocol/fuzz.test.ts', // random and mutated frames into every decoder (the codecs run on every line through
  //                               roundtrip.test.ts, golden.test.ts and every socket test)
];
const skipped = process.env.TEST_SKIP_NODE_INDEPENDENT === '1' ? NODE_INDEPENDENT : [];
if (skipped.length > 0) console.log(`# TEST_SKIP_NODE_INDEPENDENT=1: not running ${skipped.join(', ')}`);

const files = [];
for (const r of roots) collect(r, files);
for (const s of skipped) {
  // A renamed or moved file must not silently stay in (or vanish from) the list.
  if (!existsSync(s)) { console.error(`TEST_SKIP_NODE_INDEPENDENT: ${s} does not exist; update scripts/run-tests.mjs`); process.exit(1); }
}
files.splice(0, files.length, ...files.filter((f) => !skipped.includes(f)));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  // --test-force-exit: a file whose tests all finished is done even if a client library left a timer or
  // socket behind (KafkaJS reconnect timers once kept a passed fault test's process alive forever).
  // The preload keeps force-exit from dropping a child's last test reports (see the file).
  ['--import', 'tsx', '--import', STDOUT_BLOCKING, '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
