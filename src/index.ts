/**
 * Runnel's embedded API: start a Kafka-compatible broker inside this process.
 *
 *   const broker = await startBroker({ dataDir: tmp, port: 0 });
 *   // any Kafka client: bootstrap.servers = broker.bootstrapServers
 *   await broker.close();
 *
 * Further configuration uses Kafka's property names: `startBroker({ dataDir, 'num.partitions': 3 })`.
 * The environment is not read here (the CLI does that), so an embedded broker is configured only by
 * its caller.
 */
import type { Logger } from 'pino';
import { RunnelNode } from './node/runnel-node.js';
import { ConfigError, formatListener, isConfigName, resolveConfig, type ConfigName, type RunnelConfig } from './config/config.js';

export interface StartBrokerOptions extends Partial<Omit<RunnelConfig, 'node.id' | 'log.dirs' | 'listeners'>> {
  /** Data directory (log.dirs); created if missing. */
  readonly dataDir: string;
  /** Bind host; default 127.0.0.1. */
  readonly host?: string;
  /** Bind port; default 9092, 0 lets the OS pick. */
  readonly port?: number;
  /** node.id; default 1. */
  readonly nodeId?: number;
  /** Cluster id for a new data directory (22-character base64url uuid); generated when absent. */
  readonly clusterId?: string;
  /** pino logger; default silent. */
  readonly logger?: Logger;
}

export interface RunningBroker {
  /** host:port to give clients as bootstrap.servers. */
  readonly bootstrapServers: string;
  readonly port: number;
  readonly nodeId: number;
  readonly clusterId: string;
  /** Port of the operators' HTTP listener (/metrics, /healthz, /readyz) when 'metrics.listener' is set. */
  readonly metricsPort: number | undefined;
  /** Stops accepting connections, answers in-flight requests, closes. */
  close(): Promise<void>;
}

const nonConfigOptions = new Set(['dataDir', 'host', 'port', 'nodeId', 'clusterId', 'logger']);

export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const overrides: Array<[string, string, string]> = [
    ['log.dirs', options.dataDir, 'startBroker option dataDir'],
    ['node.id', String(options.nodeId ?? 1), 'startBroker option nodeId'],
    ['listeners', formatListener(options.host ?? '127.0.0.1', options.port ?? 9092), 'startBroker options host and port'],
  ];
  for (const [key, value] of Object.entries(options)) {
    if (nonConfigOptions.has(key) || value === undefined) continue;
    if (!isConfigName(key)) throw new ConfigError(`unknown startBroker option '${key}'`);
    overrides.push([key satisfies ConfigName, String(value), `startBroker option '${key}'`]);
  }
  const { config } = resolveConfig({ overrides });
  const node = await RunnelNode.start({ config, clusterId: options.clusterId, logger: options.logger });
  const broker = node.broker!;
  return {
    bootstrapServers: broker.bootstrapServers,
    port: broker.port,
    nodeId: broker.nodeId,
    clusterId: broker.clusterId,
    metricsPort: broker.metricsPort,
    close: () => node.close(),
  };
}

export { ConfigError } from './config/config.js';
export type { RunnelConfig } from './config/config.js';
export { startCluster } from './node/start-cluster.js';
export type { StartClusterOptions, RunningCluster } from './node/start-cluster.js';
