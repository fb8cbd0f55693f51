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

const files = [];
for (const r of roots) collect(r, files);
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
