#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=64
/**
 * `runnel` command line: `runnel start [options]`, `runnel --help`. Configuration comes from
 * server.properties, RUNNEL_* variables and flags (see args.ts); logs are pino JSON lines on stdout;
 * SIGINT/SIGTERM close the broker gracefully (a second signal exits at once). The shebang carries
 * RUNNEL_NODE_FLAGS (src/cli/node-flags.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { StartAbortedError } from '../common/start-aborted.js';
import { RunnelNode } from '../node/runnel-node.js';
import {
  ConfigError,
  clientListener,
  formatListener,
  resolveConfig,
  type ConfigSources,
  type ResolvedConfig,
} from '../config/config.js';
import { parseProperties, propertiesFileBytesMax } from '../config/properties.js';
import { isActedOnBrokerProperty } from '../metadata/topic-configs.js';
import { checkLogLevel, parseCliArguments, usage, type CliArguments } from './args.js';
import { runDevCluster } from './dev.js';
import { packageVersion } from '../common/package-version.js';

const exitUsage = 2;
const logLevelEnv = 'RUNNEL_LOG_LEVEL';

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args: CliArguments;
  try {
    args = parseCliArguments(argv);
  } catch (error) {
    console.error(`runnel: ${(error as Error).message}\nRun 'runnel --help' for usage.`);
    return exitUsage;
  }
  if (args.command === 'help') {
    console.log(usage);
    return 0;
  }
  if (args.command === 'version') {
    console.log(packageVersion());
    return 0;
  }
  if (args.command === 'dev') return runDevCluster(args);
  return start(args, env);
}

async function start(args: CliArguments, env: NodeJS.ProcessEnv): Promise<number> {
  let resolved: ResolvedConfig;
  let logger: Logger;
  try {
    resolved = await loadConfig(args, env);
    const level = args.logLevel ?? (env[logLevelEnv] === undefined ? 'info' : checkLogLevel(env[logLevelEnv], logLevelEnv));
    logger = pino({ level });
  } catch (error) {
    console.error(`runnel: ${(error as Error).message}`);
    return exitUsage;
  }
  for (const key of resolved.ignored) logger.warn(`ignoring unknown configuration ${key}`);
  for (const { name, source } of resolved.unimplemented) {
    if (!isActedOnBrokerProperty(name)) logger.warn(`accepting Kafka broker property ${name} (${source}): Runnel does not act on it`);
  }
  // Signals are heard from before the start: one during the start (a supervisor stopping a node that is
  // still joining its cluster) aborts the waits for the quorum and the registration, or, past those,
  // closes the node cleanly as soon as it is up. It never kills the process by the signal's default action.
  const stopping = new AbortController();
  const signalled = untilSignal(logger);
  void signalled.then(() => stopping.abort());
  let node: RunnelNode;
  try {
    node = await RunnelNode.start({ config: resolved.config, clusterId: args.clusterId, logger, signal: stopping.signal });
  } catch (error) {
    if (error instanceof StartAbortedError) {
      logger.info({ reason: error.message }, 'runnel broker stopped before it finished starting');
      return 0;
    }
    logger.fatal({ err: error }, 'runnel broker failed to start');
    return error instanceof ConfigError ? exitUsage : 1;
  }
  await signalled;
  await node.close();
  return 0;
}

async function loadConfig(args: CliArguments, env: NodeJS.ProcessEnv): Promise<ResolvedConfig> {
  const { [logLevelEnv]: _logLevel, ...configEnv } = env;
  const sources: ConfigSources = {
    file: args.configPath === undefined ? undefined : await readPropertiesFile(args.configPath),
    env: configEnv,
    overrides: args.overrides,
  };
  const resolved = resolveConfig(sources);
  if (args.host === undefined && args.port === undefined) return resolved;
  const listener = clientListener(resolved.config);
  const listeners = formatListener(args.host ?? listener.host, args.port ?? listener.port);
  const flag = [args.host === undefined ? '' : '--host', args.port === undefined ? '' : '--port'].filter((f) => f !== '').join(' and ');
  return resolveConfig({ ...sources, overrides: [...args.overrides, ['listeners', listeners, flag]] });
}

async function readPropertiesFile(path: string): Promise<NonNullable<ConfigSources['file']>> {
  let text: string;
  try {
    if ((await stat(path)).size > propertiesFileBytesMax) throw new ConfigError(`${path} is larger than ${propertiesFileBytesMax} bytes`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  return { path, properties: parseProperties(text) };
}

function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'runnel broker shutting down');
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

main(process.argv.slice(2), process.env).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
