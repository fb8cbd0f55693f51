/**
 * `runnel dev --nodes N`: a local cluster to try, from a checkout or an install. N child processes of
 * this same command line, each `runnel start` as a combined broker + controller voter on 127.0.0.1:
 * node i serves clients on 9092 + 2(i-1) and its controller listener on 9093 + 2(i-1), data in
 * {data-dir}/node-i. Their log lines are passed through prefixed with the node id. SIGINT / SIGTERM
 * stop every node (each a clean, controlled shutdown) and exit when all have.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CliArguments } from './args.js';

const CLIENT_PORT_BASE = 9092;

export function devNodeProperties(nodes: number, dataDir: string): Array<Array<[string, string]>> {
  const voters = Array.from({ length: nodes }, (_, i) => `${i + 1}@127.0.0.1:${CLIENT_PORT_BASE + 2 * i + 1}`).join(',');
  return Array.from({ length: nodes }, (_, i) => [
    ['node.id', String(i + 1)],
    ['process.roles', 'broker,controller'],
    ['listeners', `PLAINTEXT://127.0.0.1:${CLIENT_PORT_BASE + 2 * i},CONTROLLER://127.0.0.1:${CLIENT_PORT_BASE + 2 * i + 1}`],
    ['controller.quorum.voters', voters],
    ['controller.listener.names', 'CONTROLLER'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', `${dataDir}/node-${i + 1}`],
    ['default.replication.factor', String(Math.min(3, nodes))],
    ['offsets.topic.replication.factor', String(Math.min(3, nodes))],
  ]);
}

export async function runDevCluster(args: CliArguments): Promise<number> {
  const nodes = args.nodes ?? 3;
  const dataDirOverride = args.overrides.find(([key]) => key === 'log.dirs')?.[1];
  const dataDir = dataDirOverride ?? './data-cluster';
  // From dist this is main.js beside this file; from the sources (tsx) main.ts.
  const here = fileURLToPath(import.meta.url);
  const main = here.endsWith('.ts') ? here.replace(/dev\.ts$/, 'main.ts') : here.replace(/dev\.js$/, 'main.js');
  const extra = args.overrides.filter(([key]) => key !== 'log.dirs');
  const children: ChildProcess[] = devNodeProperties(nodes, dataDir).map((properties, i) => {
    const flags = [...properties, ...extra].flatMap(([key, value]) => ['--set', `${key}=${value}`]);
    if (args.configPath !== undefined) flags.unshift('--config', args.configPath);
    if (args.logLevel !== undefined) flags.push('--log-level', args.logLevel);
    const child = spawn(process.execPath, [...process.execArgv, main, 'start', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[node ${i + 1}] ${line}\n`));
    }
    return child;
  });
  const bootstrap = Array.from({ length: nodes }, (_, i) => `127.0.0.1:${CLIENT_PORT_BASE + 2 * i}`).join(',');
  process.stdout.write(`runnel dev: ${nodes} nodes starting; bootstrap.servers=${bootstrap} (data in ${dataDir}); Ctrl-C stops them\n`);
  const exited = children.map((child) => new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1))));
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      for (const child of children) child.kill('SIGKILL');
      return;
    }
    stopping = true;
    process.stdout.write('runnel dev: stopping every node\n');
    for (const child of children) child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A node that dies on its own takes the others down: a dev cluster with a hole is confusing.
  const first = await Promise.race(exited);
  if (!stopping) {
    process.stdout.write(`runnel dev: a node exited (code ${first}); stopping the others\n`);
    stop();
  }
  const codes = await Promise.all(exited);
  return codes.every((code) => code === 0 || code === 143) ? 0 : 1;
}
