/**
 * One Raft node as its own process, for test/faults/raft-cluster.test.ts. Argument: a JSON config.
 * Serves newline-delimited JSON on clientPort: {op:"propose",value} → {ok,offset} | {ok:false,error,leaderId};
 * {op:"status"} → RaftStatus; {op:"records"} → {records:[[offset,value]...]}. The "image" is the list of
 * committed records, snapshotted every 20 entries so restarts exercise snapshots too.
 */
import { createServer } from 'node:net';
import { NotLeaderError, RaftServer, type CommittedEvent } from '../../src/raft/driver/server.js';

interface NodeConfig {
  nodeId: number;
  dataDir: string;
  clientPort: number;
  raftPorts: Record<string, number>;
}

const config = JSON.parse(process.argv[2]!) as NodeConfig;
let records: [number, string][] = [];

function onCommitted(event: CommittedEvent): void {
  if (event.kind === 'snapshot') records = JSON.parse(Buffer.from(event.data).toString()) as [number, string][];
  else records.push([event.offset, Buffer.from(event.data).toString()]);
}

const ids = Object.keys(config.raftPorts).map(Number);
const peers = new Map(ids.filter((id) => id !== config.nodeId).map((id) => [id, { host: '127.0.0.1', port: config.raftPorts[id]! }]));
const server = await RaftServer.start({
  nodeId: config.nodeId,
  dataDir: config.dataDir,
  listen: { host: '127.0.0.1', port: config.raftPorts[config.nodeId]! },
  peers,
  bootstrap: { voters: ids, learners: [] },
  onCommitted,
  takeSnapshot: () => Buffer.from(JSON.stringify(records)),
  snapshotEveryEntries: 20,
  tickMs: 20,
  proposalTimeoutMs: 3000,
});

async function answer(request: { op: string; value?: string }): Promise<unknown> {
  switch (request.op) {
    case 'propose':
      try {
        return { ok: true, offset: await server.propose(Buffer.from(request.value ?? '')) };
      } catch (error) {
        return { ok: false, error: (error as Error).name, leaderId: error instanceof NotLeaderError ? error.leaderId : 0 };
      }
    case 'status': return server.status();
    case 'records': return { records };
    default: return { ok: false, error: 'unknown op' };
  }
}

createServer((socket) => {
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) void answer(JSON.parse(line)).then((reply) => socket.write(`${JSON.stringify(reply)}\n`));
  });
  socket.on('error', () => undefined);
}).listen(config.clientPort, '127.0.0.1', () => process.stdout.write('ready\n'));
