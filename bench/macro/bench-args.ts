// The bench's command line: every option it takes, refused when unknown (a typo once ran a full
// 20-minute bench with the default settings), and --help (issue #27). Kept apart from bench.ts, which
// runs on import, so test/bench/bench-args.test.ts can check it.
import { parseArgs } from 'node:util';

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Runnel and Apache Kafka 4.1.1 side by side, driven alternately by the same load generators
(Kafka's ProducerPerformance / ConsumerPerformance / EndToEndLatency, and franz-perf). Set-up once:
bash scripts/interop/setup.sh --only kafka,go. Details: bench/macro/README.md.

Options:
  --quick                       single node, 50,000 / 1,000,000 records, once (under 3 minutes)
  --records N                   records per Java produce row (default 1,000,000; 50,000 with --quick)
  --franz-records N             records per franz-go produce row (default 5,000,000; 1,000,000 with --quick)
  --repeat N                    runs per produce and consume row, median reported (default 3; 1 with --quick)
  --e2e-messages N              messages of the end-to-end latency row (default 5,000; 300 with --quick)
  --topologies LIST             single,cluster (default both; single with --quick)
  --workloads LIST              rows to run, by their exact names in the table (default all)
  --runnel-mode dist|src        built dist/ (default; falls back to src) or src through tsx
  --runnel-set key=value        passed to runnel start --set (repeatable)
  --runnel-durability LIST      Runnel variants: fsync,none (default both; log.durability.mode)
  --kafka-durability LIST       Kafka variants: none,fsync (default both; fsync = topics with flush.messages=1)
  -h, --help                    show this help

Writes bench/results/<timestamp>-<quick|full>.json and prints the table. Interrupting it (Ctrl-C,
SIGTERM, SIGHUP) stops every broker and load generator it started.
`;

export interface BenchArgs {
  readonly help: boolean;
  readonly quick: boolean;
  readonly records?: number;
  readonly franzRecords?: number;
  readonly repeat?: number;
  readonly e2eMessages?: number;
  readonly topologies?: string;
  readonly workloads?: string;
  readonly runnelMode?: 'dist' | 'src';
  readonly runnelSet: readonly string[];
  readonly runnelDurability?: string;
  readonly kafkaDurability?: string;
}

/** Parses the bench's options; throws an Error naming the problem (unknown option, bad number). */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      records: { type: 'string' },
      'franz-records': { type: 'string' },
      repeat: { type: 'string' },
      'e2e-messages': { type: 'string' },
      topologies: { type: 'string' },
      workloads: { type: 'string' },
      'runnel-mode': { type: 'string' },
      'runnel-set': { type: 'string', multiple: true },
      'runnel-durability': { type: 'string' },
      'kafka-durability': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  const mode = values['runnel-mode'];
  if (mode !== undefined && mode !== 'dist' && mode !== 'src') throw new Error(`--runnel-mode: expected dist or src, got '${mode}'`);
  for (const set of values['runnel-set'] ?? []) if (!/^[^=]+=/.test(set)) throw new Error(`--runnel-set expects key=value, got '${set}'`);
  return {
    help: values.help ?? false,
    quick: values.quick ?? false,
    records: count('records', values.records),
    franzRecords: count('franz-records', values['franz-records']),
    repeat: count('repeat', values.repeat),
    e2eMessages: count('e2e-messages', values['e2e-messages']),
    topologies: values.topologies,
    workloads: values.workloads,
    runnelMode: mode,
    runnelSet: values['runnel-set'] ?? [],
    runnelDurability: values['runnel-durability'],
    kafkaDurability: values['kafka-durability'],
  };
}

function count(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.replaceAll(',', '').replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${flag}: expected a positive integer, got '${text}'`);
  return value;
}
