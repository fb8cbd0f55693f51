import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Ready } from '../../../src/raft/core/types.js';
import { NotLeaderError, RaftServer, type CommittedEvent } from '../../../src/raft/driver/server.js';
import { DurableStorage } from '../../../src/raft/driver/storage.js';
import type { PeerAddress } from '../../../src/raft/driver/transport.js';
import { freePort } from '../../network/free-port.js';


async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('three voters and an observer on loopback elect a leader, commit proposals and recover after a restart', async () => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-raft-server-'));
  const voters = [1, 2, 3];
  const ids = [1, 2, 3, 4];
  const addresses = new Map<number, PeerAddress>();
  for (const id of ids) addresses.set(id, { host: '127.0.0.1', port: await freePort() });
  const logs = new Map<number, string[]>();
  const servers = new Map<number, RaftServer>();
  const start = async (id: number): Promise<void> => {
    logs.set(id, []);
    const onCommitted = (event: CommittedEvent): void => {
      if (event.kind === 'record') logs.get(id)!.push(`${event.offset}:${Buffer.from(event.data).toString()}`);
    };
    const peers = new Map([...addresses].filter(([peer]) => peer !== id));
    servers.set(id, await RaftServer.start({
      nodeId: id, dataDir: join(root, `n${id}`), listen: addresses.get(id)!, peers, onCommitted,
      bootstrap: { voters, learners: [4] }, tickMs: 10, seed: id,
    }));
  };
  try {
    for (const id of ids) await start(id);
    const leaderId = (): number | undefined => ids.find((id) => servers.get(id)?.status().role === 'leader');
    await waitFor('a leader', () => leaderId() !== undefined);
    const follower = voters.find((id) => id !== leaderId())!;
    assert.notEqual(leaderId(), 4, 'an observer never leads');
    await assert.rejects(servers.get(follower)!.propose(Buffer.from('x')), NotLeaderError);
    const offsets: number[] = [];
    for (const text of ['a', 'b', 'c']) offsets.push(await servers.get(leaderId()!)!.propose(Buffer.from(text)));
    assert.deepEqual([...offsets].sort((x, y) => x - y), offsets);
    const expected = offsets.map((offset, i) => `${offset}:${'abc'[i]}`);
    await waitFor('replication to voters and the observer', () => ids.every((id) => logs.get(id)!.join() === expected.join()));
    const readIndex = await servers.get(follower)!.readIndex();
    assert.ok(readIndex >= offsets[2]!);
    await servers.get(follower)!.close();
    await start(follower);
    await waitFor('the restarted node to re-apply its log', () => logs.get(follower)!.join() === expected.join());
  } finally {
    for (const server of servers.values()) await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Holds the storage writes of chosen data directories until released: the disk of those nodes is
 * "slow", so what waits for durability shows. Patches DurableStorage.prototype.persist for one test.
 */
function holdWrites(): { hold: (dir: string) => void; release: (dir: string) => void; held: (dir: string) => number; restore: () => void } {
  const original = DurableStorage.prototype.persist;
  const gates = new Map<string, Array<() => void>>();
  DurableStorage.prototype.persist = function persist(this: DurableStorage, ready: Ready): Promise<void> {
    const waiting = gates.get((this as unknown as { dir: string }).dir);
    if (waiting === undefined) return original.call(this, ready);
    return new Promise<void>((resolve, reject) => waiting.push(() => { original.call(this, ready).then(resolve, reject); }));
  };
  return {
    hold: (dir) => { gates.set(dir, []); },
    release: (dir) => {
      const waiting = gates.get(dir) ?? [];
      gates.delete(dir);
      for (const write of waiting) write();
    },
    held: (dir) => gates.get(dir)?.length ?? 0,
    restore: () => { DurableStorage.prototype.persist = original; },
  };
}

test('the leader counts itself only once its own write is durable (one voter, slow disk)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-raft-server-'));
  const disk = holdWrites();
  let server: RaftServer | undefined;
  try {
    server = await RaftServer.start({
      nodeId: 1, dataDir: join(root, 'n1'), listen: undefined, peers: new Map(), onCommitted: () => undefined,
      bootstrap: { voters: [1], learners: [] }, tickMs: 10, seed: 1,
    });
    const leader = server;
    await waitFor('leadership', () => leader.status().role === 'leader');
    await leader.propose(Buffer.from('warm'));
    disk.hold(join(root, 'n1'));
    let committed = false;
    const proposal = leader.propose(Buffer.from('x')).then((offset) => { committed = true; return offset; });
    await waitFor('the write to reach the storage', () => disk.held(join(root, 'n1')) === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(committed, false, 'committed before the only voter had it on disk');
    disk.release(join(root, 'n1'));
    assert.ok(await proposal > 1);
  } finally {
    disk.restore();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('append acknowledgements wait for the follower\'s write: with both followers\' disks held nothing commits', async () => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-raft-server-'));
  const voters = [1, 2, 3];
  const addresses = new Map<number, PeerAddress>();
  for (const id of voters) addresses.set(id, { host: '127.0.0.1', port: await freePort() });
  const servers = new Map<number, RaftServer>();
  const disk = holdWrites();
  try {
    for (const id of voters) {
      servers.set(id, await RaftServer.start({
        nodeId: id, dataDir: join(root, `n${id}`), listen: addresses.get(id)!,
        peers: new Map([...addresses].filter(([peer]) => peer !== id)), onCommitted: () => undefined,
        // A 2 s election timeout: held writes also hold heartbeat answers, which must not cost the leadership.
        bootstrap: { voters, learners: [] }, tickMs: 10, electionTicks: 200, heartbeatTicks: 5, seed: id,
      }));
    }
    const leaderId = (): number | undefined => voters.find((id) => servers.get(id)?.status().role === 'leader');
    await waitFor('a leader', () => leaderId() !== undefined);
    const leader = servers.get(leaderId()!)!;
    await leader.propose(Buffer.from('warm'));
    const followers = voters.filter((id) => id !== leaderId());
    for (const id of followers) disk.hold(join(root, `n${id}`));
    let committed = false;
    const proposal = leader.propose(Buffer.from('x')).then((offset) => { committed = true; return offset; });
    await waitFor('both followers to be writing the entry', () => followers.every((id) => disk.held(join(root, `n${id}`)) >= 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(committed, false, 'committed on acknowledgements sent before the followers\' writes were durable');
    for (const id of followers) assert.ok((leader.matchIndexOf(id) ?? 0) < leader.status().lastIndex, `follower ${id} acknowledged early`);
    disk.release(join(root, `n${followers[0]}`));
    const offset = await proposal;
    assert.ok((leader.matchIndexOf(followers[0]!) ?? 0) >= offset);
    disk.release(join(root, `n${followers[1]}`));
  } finally {
    disk.restore();
    for (const server of servers.values()) await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
