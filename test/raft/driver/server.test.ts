import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NotLeaderError, RaftServer, type CommittedEvent } from '../../../src/raft/driver/server.js';
import type { PeerAddress } from '../../../src/raft/driver/transport.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

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
