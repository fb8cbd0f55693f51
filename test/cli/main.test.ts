import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseCliArguments } from '../../src/cli/args.js';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];

test('--help prints usage and exits 0', () => {
  const result = spawnSync(process.execPath, [...cli, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0);
  assert.match(result.stdout, /Usage: runnel <command>/);
  assert.match(result.stdout, /--set <key=value>/);
});

test('an unknown flag or command exits 2 with a message', () => {
  for (const args of [['start', '--bogus'], ['frobnicate']]) {
    const result = spawnSync(process.execPath, [...cli, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 2, args.join(' '));
    assert.match(result.stderr, /runnel: /);
  }
});

test('--log-level refuses an unknown level and lists the valid ones; a --set error names the flag', () => {
  assert.throws(() => parseCliArguments(['start', '--log-level', 'verbose']),
    /--log-level: unknown log level 'verbose' \(expected one of trace, debug, info, warn, error, fatal, silent\)/);
  assert.equal(parseCliArguments(['start', '--log-level', 'warn']).logLevel, 'warn');
  const badValue = parseCliArguments(['start', '--set', 'num.partitions=zero']);
  assert.throws(() => resolveConfig({ overrides: badValue.overrides }), /num\.partitions \(from --set num\.partitions\)/);
  const badKey = parseCliArguments(['start', '--set', 'num.partition=3']);
  assert.throws(() => resolveConfig({ overrides: badKey.overrides }), /unknown configuration 'num\.partition' \(from --set num\.partition\)/);
  const result = spawnSync(process.execPath, [...cli, 'start', '--log-level', 'loud'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown log level 'loud'/);
});

test('argument parsing: shorthand flags become Kafka properties, in order', () => {
  const args = parseCliArguments(['start', '--data-dir', '/d', '--set', 'num.partitions=3', '--node-id', '4', '--port', '0']);
  assert.equal(args.command, 'start');
  assert.deepEqual(args.overrides, [['log.dirs', '/d', '--data-dir'], ['num.partitions', '3', '--set num.partitions'], ['node.id', '4', '--node-id']]);
  assert.equal(args.port, 0);
  assert.throws(() => parseCliArguments(['start', '--set', 'novalue']), ConfigError);
  assert.throws(() => parseCliArguments(['start', '--port', '70000']), ConfigError);
  assert.equal(parseCliArguments([]).command, 'help');
});

interface Started {
  child: ChildProcess;
  startLine: { listener: string; nodeId: number; clusterId: string; startupMs: number };
}

async function startCli(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [...cli, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg: string };
    if (entry.msg === 'runnel broker started') {
      clearTimeout(timer);
      return { child, startLine: entry as unknown as Started['startLine'] };
    }
  }
  clearTimeout(timer);
  throw new Error('runnel exited before it started');
}

test('runnel start: file < environment < flags; serves requests; SIGTERM closes gracefully', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-cli-'));
  try {
    const dataDir = join(dir, 'data');
    const configPath = join(dir, 'server.properties');
    await writeFile(configPath, [
      'listeners=PLAINTEXT://127.0.0.1:1',
      `log.dirs=${join(dir, 'from-file')}`,
      'node.id=7',
      'zookeeper.connect=localhost:2181',
    ].join('\n'));
    const { child, startLine } = await startCli(['--config', configPath, '--port', '0'], {
      RUNNEL_LISTENERS: 'PLAINTEXT://127.0.0.1:2',
      RUNNEL_LOG_DIRS: dataDir,
    });
    const port = Number(/:(\d+)$/.exec(startLine.listener)?.[1]);
    assert.ok(port > 2, 'the --port flag beats the environment and the file');
    assert.equal(startLine.nodeId, 7, 'node.id from the file');
    assert.ok(existsSync(join(dataDir, 'meta.properties')), 'log.dirs from the environment beats the file');
    assert.match(await readFile(join(dataDir, 'meta.properties'), 'utf8'), new RegExp(`cluster.id=${startLine.clusterId}`));
    const client = await RawClient.connect(port);
    const { body } = await call(client, ApiKey.ApiVersions, 3, { clientSoftwareName: 'cli-test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
    assert.equal(body.errorCode, 0);
    client.destroy();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('runnel start with an invalid configuration exits 2', () => {
  const result = spawnSync(process.execPath, [...cli, 'start', '--set', 'num.partitions=zero'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /num\.partitions/);
});

test('the bin shebang, npm start and RUNNEL_NODE_FLAGS name the same Node flags, and node accepts them', async () => {
  const { RUNNEL_NODE_FLAGS } = await import('../../src/cli/node-flags.js');
  const shebang = (await readFile('src/cli/main.ts', 'utf8')).split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${RUNNEL_NODE_FLAGS.join(' ')}`);
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `exec node ${RUNNEL_NODE_FLAGS.join(' ')} dist/src/cli/main.js start`);
  const result = spawnSync(process.execPath, [...RUNNEL_NODE_FLAGS, ...cli, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
});

test('runnel start with ssl.keystore.location in its properties file refuses to start, naming it (issue 26 defect 5)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-cli-'));
  try {
    const configPath = join(dir, 'server.properties');
    await writeFile(configPath, `log.dirs=${join(dir, 'data')}\nssl.keystore.location=/etc/broker.jks\n`);
    const result = spawnSync(process.execPath, [...cli, 'start', '--config', configPath, '--port', '0'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 2, result.stdout);
    assert.match(result.stderr, /ssl\.keystore\.location.*SSL\/TLS is not supported/);
    assert.equal(existsSync(join(dir, 'data')), false, 'nothing started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Issue 26 defect 7: npm ran the start script under `sh -c`, and SIGTERM to npm (what Docker, systemd and
 * process managers send) killed npm and the shell, leaving the broker orphaned and still listening.
 * The script `exec`s node, so npm's forwarded signal reaches the broker, which closes gracefully.
 */
test('SIGTERM to npm start stops the broker it started (issue 26 defect 7)', { timeout: 120_000 }, async () => {
  // npm start runs dist/: build it as npm install's `prepare` does, so the test runs today's source.
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  const dir = await mkdtemp(join(tmpdir(), 'runnel-npm-start-'));
  const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let brokerPid = 0;
  try {
    const lines = createInterface({ input: npm.stdout! });
    const timer = setTimeout(() => npm.kill('SIGKILL'), 60_000);
    let port = 0;
    for await (const line of lines) {
      if (!line.startsWith('{')) continue; // npm's banner
      const entry = JSON.parse(line) as { msg: string; pid: number; listener?: string };
      if (entry.msg === 'runnel broker started') {
        brokerPid = entry.pid;
        port = Number(/:(\d+)$/.exec(entry.listener ?? '')?.[1]);
        break;
      }
    }
    clearTimeout(timer);
    assert.ok(brokerPid > 0 && port > 0, 'the broker started under npm');
    assert.notEqual(brokerPid, npm.pid);
    npm.kill('SIGTERM');
    const deadline = Date.now() + 15_000;
    while (alive(brokerPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(brokerPid), false, 'the broker exited after SIGTERM to npm start');
    if (npm.exitCode === null && npm.signalCode === null) await once(npm, 'exit');
    await assert.rejects(RawClient.connect(port), 'nothing listens any more');
  } finally {
    if (brokerPid > 0 && alive(brokerPid)) process.kill(brokerPid, 'SIGKILL');
    npm.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Regression (CI of 2026-12-06, cluster-processes "SIGTERM"): a node restarted while its cluster still
 * listed it got SIGTERM while it was joining; the signal handler was installed only after the start, so
 * the process died by the signal's default action (no controlled shutdown, exit by signal). Now a signal
 * during the start aborts the waits for the quorum and the registration and the process exits 0.
 */
test('SIGTERM while a cluster node waits for its controller quorum exits 0 at once (signal during start)', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-cli-joining-'));
  try {
    const { freePorts } = await import('../../src/node/start-cluster.js');
    const [broker, c1, c2, c3] = await freePorts(4);
    // Voter 1 of three; the other two never start, so there is no quorum and the start waits.
    const child = spawn(process.execPath, [...cli, 'start',
      '--set', 'process.roles=broker,controller', '--set', 'node.id=1',
      '--set', `listeners=PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${c1}`,
      '--set', 'controller.listener.names=CONTROLLER',
      '--set', `controller.quorum.voters=1@127.0.0.1:${c1},2@127.0.0.1:${c2},3@127.0.0.1:${c3}`,
      '--set', `log.dirs=${join(dir, 'data')}`, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const deadline = Date.now() + 30_000;
    // The metadata log is open (its directory exists) before the node waits for the quorum.
    while (!existsSync(join(dir, 'data', 'metadata')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, `still starting: ${out}`);
    const sentAt = Date.now();
    child.kill('SIGTERM');
    const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
    assert.equal(signal, null, 'exited by itself, not by the signal');
    assert.equal(code, 0, out);
    assert.ok(Date.now() - sentAt < 10_000, 'promptly');
    assert.match(out, /stopped before it finished starting/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
