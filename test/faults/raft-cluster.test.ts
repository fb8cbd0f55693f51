/**
 * Multi-process fault test: 3 Raft nodes on loopback, the leader killed with SIGKILL again and again
 * while a client proposes. Every acknowledged proposal must be on every node after healing, at the
 * offset it was acknowledged with, and all nodes must hold the same records in the same order; then
 * the whole cluster is killed and restarted (cold start) and must come back with the same records.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../network/free-port.js';

const ids = [1, 2, 3];
const killsTarget = 5;


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One request, one reply line; undefined when the node is down or slow. */
function request<T>(port: number, body: object, timeoutMs = 4000): Promise<T | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = '';
    const done = (value: T | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(body)}\n`));
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) done(JSON.parse(buffered.slice(0, newline)) as T);
    });
    socket.on('error', () => done(undefined));
  });
}

class Cluster {
  private readonly processes = new Map<number, ChildProcess>();
  readonly clientPorts = new Map<number, number>();
  private readonly raftPorts: Record<string, number> = {};
  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    for (const id of ids) {
      this.raftPorts[id] = await freePort();
      this.clientPorts.set(id, await freePort());
    }
  }

  async start(id: number): Promise<void> {
    const config = { nodeId: id, dataDir: join(this.root, `node-${id}`), clientPort: this.clientPorts.get(id)!, raftPorts: this.raftPorts };
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/raft-node-process.ts', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.processes.set(id, child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}`)));
    });
  }

  kill(id: number): Promise<void> {
    const child = this.processes.get(id);
    this.processes.delete(id);
    if (child === undefined || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  running(id: number): boolean { return this.processes.has(id); }

  async leader(): Promise<number | undefined> {
    for (const id of ids) {
      if (!this.running(id)) continue;
      const status = await request<{ role: string }>(this.clientPorts.get(id)!, { op: 'status' }, 1000);
      if (status?.role === 'leader') return id;
    }
    return undefined;
  }

  async stopAll(): Promise<void> {
    for (const id of ids) await this.kill(id);
  }
}

test('kill -9 the leader repeatedly while a client proposes: no acknowledged proposal is lost, nor anything on a cold start', { timeout: 180_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-raft-cluster-'));
  const cluster = new Cluster(root);
  const acknowledged: [number, string][] = [];
  let stop = false;
  let attempts = 0;
  try {
    await cluster.init();
    for (const id of ids) await cluster.start(id);
    const client = (async () => {
      for (let i = 0; i < 100_000 && !stop; i++) {
        const leader = await cluster.leader();
        if (leader === undefined) {
          await sleep(50);
          continue;
        }
        const value = `v${++attempts}`;
        const reply = await request<{ ok: boolean; offset?: number }>(cluster.clientPorts.get(leader)!, { op: 'propose', value });
        if (reply?.ok === true) acknowledged.push([reply.offset!, value]);
      }
    })();
    let kills = 0;
    for (let round = 0; round < 60 && kills < killsTarget; round++) {
      await sleep(700);
      const leader = await cluster.leader();
      if (leader === undefined) continue;
      await cluster.kill(leader);
      kills++;
      await sleep(300);
      await cluster.start(leader);
    }
    await sleep(1000);
    stop = true;
    await client;
    assert.equal(kills, killsTarget, 'the leader was killed the planned number of times');
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} proposals were acknowledged`);

    // Heal: every node up; wait until all agree.
    let views: [number, string][][] = [];
    for (let round = 0; round < 100; round++) {
      views = [];
      for (const id of ids) views.push((await request<{ records: [number, string][] }>(cluster.clientPorts.get(id)!, { op: 'records' }))?.records ?? []);
      const last = acknowledged[acknowledged.length - 1]![0];
      if (views.every((view) => JSON.stringify(view) === JSON.stringify(views[0]) && view.some(([offset]) => offset >= last))) break;
      await sleep(200);
    }
    for (const view of views) assert.deepEqual(view, views[0], 'every node holds the same records in the same order');
    const byOffset = new Map(views[0]);
    for (const [offset, value] of acknowledged) assert.equal(byOffset.get(offset), value, `acknowledged ${value} at ${offset}`);
    const order = views[0]!.map(([, value]) => value).filter((value) => acknowledged.some(([, v]) => v === value));
    assert.deepEqual(order, acknowledged.map(([, value]) => value), 'acknowledged proposals appear in acknowledgement order');

    // Cold start: every node killed at once and restarted must come back with all of it.
    const before = JSON.stringify(views[0]);
    await cluster.stopAll();
    for (const id of ids) await cluster.start(id);
    let cold: [number, string][][] = [];
    for (let round = 0; round < 100; round++) {
      cold = [];
      for (const id of ids) cold.push((await request<{ records: [number, string][] }>(cluster.clientPorts.get(id)!, { op: 'records' }))?.records ?? []);
      if (cold.every((view) => JSON.stringify(view) === before)) break;
      await sleep(200);
    }
    for (const view of cold) assert.equal(JSON.stringify(view), before, 'all records survive a cold start of the whole cluster');
    t.diagnostic(`kills=${kills} proposals=${attempts} acknowledged=${acknowledged.length} records=${views[0]!.length}`);
  } finally {
    stop = true;
    await cluster.stopAll();
    rmSync(root, { recursive: true, force: true });
  }
});
