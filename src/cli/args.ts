/**
 * Command-line arguments of `runnel`. Flags are explicit overrides, applied after the config file and
 * the RUNNEL_* environment, in the order given.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config.js';

export interface CliArguments {
  readonly command: 'start' | 'dev' | 'help' | 'version';
  /** `dev`: how many nodes (default 3). */
  readonly nodes?: number;
  readonly configPath?: string;
  readonly clusterId?: string;
  readonly logLevel?: string;
  /** Kafka property overrides from --set and the shorthand flags, in order, with the flag that gave each. */
  readonly overrides: ReadonlyArray<readonly [string, string, string]>;
  /** --host / --port rewrite the listener from all other sources. */
  readonly host?: string;
  readonly port?: number;
}

export const usage = `Usage: runnel <command> [options]

Commands:
  start              Start a node (default: a standalone broker on PLAINTEXT://127.0.0.1:9092, data in ./data;
                     a cluster node with process.roles, controller.quorum.voters, … in --config)
  dev                Start a local cluster to try: --nodes N (default 3) child processes on 127.0.0.1
                     ports 9092, 9094, 9096, … (controllers on 9093, 9095, …), data under --data-dir
                     (default ./data-cluster); Ctrl-C or SIGTERM stops them all
  help               Show this help

Options (start):
  --config <file>    server.properties file (Kafka property names)
  --host <host>      Listener host (rewrites the host of 'listeners')
  --port <port>      Listener port, 0 lets the OS pick (rewrites the port of 'listeners')
  --data-dir <dir>   Data directory (log.dirs)
  --node-id <id>     node.id
  --cluster-id <id>  Cluster id for a new data directory (22-character base64url uuid)
  --set <key=value>  Any configuration property, repeatable (e.g. --set num.partitions=3)
  --log-level <lvl>  trace, debug, info (default), warn, error, fatal, silent
  -h, --help         Show this help
  -v, --version      Show the version

Configuration precedence, lowest first: defaults < --config file < RUNNEL_* environment
(RUNNEL_LOG_DIRS=/data sets log.dirs; RUNNEL_LOG_LEVEL sets the log level) < flags.
`;

export function parseCliArguments(argv: readonly string[]): CliArguments {
  const { values, positionals, tokens } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    tokens: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'node-id': { type: 'string' },
      'cluster-id': { type: 'string' },
      set: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      nodes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return { command: 'help', overrides: [] };
  if (values.version) return { command: 'version', overrides: [] };
  const command = positionals[0] ?? 'help';
  if (positionals.length > 1) throw new ConfigError(`unexpected argument '${positionals[1]}'`);
  if (command === 'help') return { command: 'help', overrides: [] };
  if (command === 'dev') {
    const nodes = values.nodes === undefined ? 3 : Number(values.nodes);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new ConfigError(`--nodes expects 1-9, got '${values.nodes}'`);
    return {
      command: 'dev', nodes, configPath: values.config, logLevel: values['log-level'], overrides: orderedOverrides(tokens),
    };
  }
  if (command !== 'start') throw new ConfigError(`unknown command '${command}'`);
  return {
    command: 'start',
    configPath: values.config,
    clusterId: values['cluster-id'],
    logLevel: values['log-level'] === undefined ? undefined : checkLogLevel(values['log-level'], '--log-level'),
    overrides: orderedOverrides(tokens),
    host: values.host,
    port: values.port === undefined ? undefined : parsePort(values.port),
  };
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

function orderedOverrides(tokens: readonly Token[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'set') out.push(splitSetting(token.value));
    if (token.name === 'data-dir') out.push(['log.dirs', token.value, '--data-dir']);
    if (token.name === 'node-id') out.push(['node.id', token.value, '--node-id']);
  }
  return out;
}

function splitSetting(setting: string): [string, string, string] {
  const at = setting.indexOf('=');
  if (at <= 0) throw new ConfigError(`--set expects key=value, got '${setting}'`);
  const key = setting.slice(0, at).trim();
  return [key, setting.slice(at + 1), `--set ${key}`];
}

/** pino's levels, the ones `--log-level` and RUNNEL_LOG_LEVEL accept. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The level, or a ConfigError naming `source` and the valid levels. */
export function checkLogLevel(level: string, source: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level;
  throw new ConfigError(`${source}: unknown log level '${level}' (expected one of ${LOG_LEVELS.join(', ')})`);
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError(`--port expects 0-65535, got '${text}'`);
  return Number(text);
}
