/**
 * The README's way in, from a clean directory with only Node and npm (issue #27): the package as
 * `npm pack` builds it is installed into an empty project; `npx runnel start` serves a produce and a
 * consume by kcat and stops cleanly on Ctrl-C, and the installed bin exits 0 on SIGTERM; the README's embedded example runs as written (only its
 * data directory is moved into the temp dir). Needs the npm registry for the package's dependencies, so
 * it is not part of `npm test`: `npm run test:install` (CI runs it).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const npm = 'npm';
const npx = 'npx';
const kcat = process.env['KCAT'] ?? 'kcat';
const installTimeoutMs = 600_000;

const work = await mkdtemp(join(tmpdir(), 'runnel-install-'));
const app = join(work, 'app');
after(() => rm(work, { recursive: true, force: true }));

const readme = await readFile('README.md', 'utf8');

function run(command: string, args: readonly string[], cwd: string, timeout = 120_000): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The README's install line, with the package name replaced by the tarball `npm pack` made. */
async function installAsReadmeSays(): Promise<void> {
  const installLine = /^npm install (\S+)$/m.exec(readme);
  assert.ok(installLine !== null, 'README has no `npm install <package>` line');
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { name: string; version: string };
  assert.equal(installLine[1], pkg.name, 'the README installs another package than package.json names');
  const tarball = run(npm, ['pack', '--silent', '--pack-destination', work], process.cwd(), installTimeoutMs).trim().split('\n').at(-1)!;
  assert.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
  await rm(app, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', app]);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run(npm, ['install', '--no-audit', '--no-fund', join(work, tarball)], app, installTimeoutMs);
}

const installed = installAsReadmeSays();

/** Starts the broker with `command args`, waits for its start line, returns the process and its lines. */
async function startBroker(command: string, args: readonly string[]) {
  // Its own process group: npx runs the bin as a grandchild, so the test signals the group, as a
  // terminal's Ctrl-C does (npx does not relay a SIGTERM sent to it alone, and the broker would outlive it).
  const broker = spawn(command, args, { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = once(broker, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: string[] = [];
  const rl = createInterface({ input: broker.stdout! });
  const started = await new Promise<{ listener: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line in 60 s:\n${lines.join('\n')}`)), 60_000);
    rl.on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg: string; listener?: string };
      if (entry.msg === 'runnel broker started') { clearTimeout(timer); resolve(entry as { listener: string }); }
    });
    broker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited ${code}:\n${lines.join('\n')}`)); });
  });
  return { broker, exited, lines, bootstrap: started.listener.replace(/^PLAINTEXT:\/\//, '') };
}

/** Signals the broker's whole process group (npx and the bin it runs). */
function signalGroup(broker: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-broker.pid!, signal);
  } catch {
    // already gone
  }
}

test('npx runnel start in a clean project serves kcat and stops on Ctrl-C', { timeout: installTimeoutMs + 120_000 }, async (t) => {
  await installed;
  assert.match(run(npx, ['runnel', '--help'], app), /Usage: runnel <command>/);
  assert.match(run(npx, ['runnel', '--version'], app).trim(), /^\d+\.\d+\.\d+$/);
  const { broker, exited, lines, bootstrap } = await startBroker(npx, ['runnel', 'start', '--port', '0', '--data-dir', './data']);
  try {
    if (spawnSync(kcat, ['-V']).error !== undefined) {
      t.skip(`${kcat} is not installed: produce/consume not checked (apt-get install kcat)`);
    } else {
      const records = ['one', 'two', 'three'];
      execFileSync(kcat, ['-b', bootstrap, '-t', 'demo', '-P'], { input: records.join('\n') + '\n', timeout: 30_000 });
      const consumed = execFileSync(kcat, ['-b', bootstrap, '-t', 'demo', '-C', '-o', 'beginning', '-e', '-q'], { encoding: 'utf8', timeout: 30_000 });
      assert.deepEqual(consumed.trim().split('\n'), records);
    }
    signalGroup(broker, 'SIGINT');
    await exited;
    assert.ok(lines.some((line) => line.includes('runnel broker stopped')), lines.join('\n'));
  } finally {
    signalGroup(broker, 'SIGKILL');
  }
});

test('the installed bin (as a supervisor runs it) exits 0 on SIGTERM after a clean stop', { timeout: installTimeoutMs + 60_000 }, async () => {
  await installed;
  const { broker, exited, lines } = await startBroker(join(app, 'node_modules/.bin/runnel'), ['start', '--port', '0', '--data-dir', './data']);
  try {
    broker.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.ok(lines.some((line) => line.includes('runnel broker stopped')), lines.join('\n'));
  } finally {
    signalGroup(broker, 'SIGKILL');
  }
});

test("the README's embedded example runs from the installed package", { timeout: installTimeoutMs + 60_000 }, async () => {
  await installed;
  const example = /```ts\n(import \{ startBroker \} from '[^']+';[\s\S]*?)```/.exec(readme);
  assert.ok(example !== null, 'README has no embedded example importing startBroker');
  const code = example[1]!.replace(/dataDir: '[^']*'/, `dataDir: ${JSON.stringify(join(work, 'embedded-data'))}`);
  assert.notEqual(code, example[1], 'the example names no dataDir');
  await writeFile(join(app, 'example.mjs'), code);
  const out = run(process.execPath, ['example.mjs'], app, 60_000);
  assert.match(out, /^127\.0\.0\.1:\d+$/m);
});
