/**
 * `npm run sim:replication -- [--seeds N] [--first S] [--seed S [--verbose]] [--inject-bug NAME|all [--bug-seeds-max N]]`
 *
 * The replication simulation (simulation.ts): --seeds runs seeds first..first+N-1 and exits 0 only if
 * all pass; --seed replays one (--verbose traces every event); --inject-bug runs seeds with a deliberate
 * bug until the checker catches it, exit 1 if any bug survives --bug-seeds-max seeds (default 1000).
 */
import { REPLICATION_BUG_NAMES, runReplicationSimulation, type ReplicationBugName, type ReplicationSimResult } from './simulation.js';

interface CliOptions {
  seeds: number;
  first: number;
  seed: number | undefined;
  verbose: boolean;
  injectBug: string | undefined;
  bugSeedsMax: number;
  progressEvery: number;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 100, first: 1, seed: undefined, verbose: false, injectBug: undefined, bugSeedsMax: 1000, progressEvery: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--seeds': options.seeds = count(value(), arg); break;
      case '--first': options.first = count(value(), arg); break;
      case '--seed': options.seed = count(value(), arg); break;
      case '--verbose': options.verbose = true; break;
      case '--inject-bug': options.injectBug = value(); break;
      case '--bug-seeds-max': options.bugSeedsMax = count(value(), arg); break;
      case '--progress-every': options.progressEvery = count(value(), arg); break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  return options;
}

function count(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} expects a non-negative integer, got ${text}`);
  return value;
}

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describe(result: ReplicationSimResult): string {
  return `seed ${result.seed}: ${result.ok ? 'ok' : 'FAIL'} replicas=${result.replicas} events=${result.events} simulated=${result.timeMs}ms `
    + `acknowledged=${result.acknowledged} committed=${result.committed}`
    + `\n  ${Object.entries(result.stats).sort().map(([name, n]) => `${name}=${n}`).join(' ')}`
    + (result.failure === undefined ? '' : `\n  failure: ${result.failure}`);
}

function runSeeds(first: number, seeds: number, progressEvery: number): number {
  const totals: Record<string, number> = {};
  let failed = 0;
  let events = 0;
  const started = Date.now();
  for (let seed = first; seed < first + seeds; seed++) {
    const result = runReplicationSimulation({ seed });
    events += result.events;
    for (const [name, n] of Object.entries(result.stats)) totals[name] = (totals[name] ?? 0) + n;
    if (!result.ok) {
      failed++;
      write(describe(result));
      write(`  replay: npm run sim:replication -- --seed ${seed} --verbose`);
    }
    if (progressEvery > 0 && (seed - first + 1) % progressEvery === 0) write(`${seed - first + 1} seeds, ${failed} failed, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  write(`${seeds} seeds (${first}..${first + seeds - 1}): ${seeds - failed} ok, ${failed} failed; ${events} events in ${Math.round((Date.now() - started) / 1000)} s`);
  write(`  ${Object.entries(totals).sort().map(([name, n]) => `${name}=${n}`).join(' ')}`);
  return failed === 0 ? 0 : 1;
}

function huntBug(bug: ReplicationBugName, seedsMax: number): boolean {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = runReplicationSimulation({ seed, bugs: new Set([bug]) });
    if (!result.ok) {
      write(`bug ${bug}: caught at seed ${seed}: ${result.failure}`);
      write(`  replay: npm run sim:replication -- --inject-bug ${bug} --seed ${seed} --verbose`);
      return true;
    }
  }
  write(`bug ${bug}: NOT caught in ${seedsMax} seeds`);
  return false;
}

function main(argv: readonly string[]): number {
  const options = parseArgs(argv);
  const bug = options.injectBug;
  if (bug !== undefined && bug !== 'all' && !(REPLICATION_BUG_NAMES as readonly string[]).includes(bug)) {
    write(`unknown bug ${bug}; known: ${REPLICATION_BUG_NAMES.join(', ')}, all`);
    return 2;
  }
  if (options.seed !== undefined) {
    const result = runReplicationSimulation({
      seed: options.seed, bugs: new Set(bug === undefined || bug === 'all' ? [] : [bug as ReplicationBugName]), trace: options.verbose ? write : undefined,
    });
    write(describe(result));
    return result.ok ? 0 : 1;
  }
  if (bug !== undefined) {
    const bugs = bug === 'all' ? [...REPLICATION_BUG_NAMES] : [bug as ReplicationBugName];
    const missed = bugs.filter((b) => !huntBug(b, options.bugSeedsMax));
    write(missed.length === 0 ? `all ${bugs.length} injected bugs caught` : `undetected: ${missed.join(', ')}`);
    return missed.length === 0 ? 0 : 1;
  }
  return runSeeds(options.first, options.seeds, options.progressEvery);
}

process.exitCode = main(process.argv.slice(2));
