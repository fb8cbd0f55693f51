/**
 * `npm run sim -- [--controller] [--seeds N] [--first S] [--seed S [--verbose]] [--inject-bug NAME|all [--bug-seeds-max N]]`
 *
 *   --controller      the controller simulation (controller-sim.ts) instead of the Raft one; its bugs
 *                     are the controller's (partition-change.ts CONTROLLER_BUG_NAMES)
 *   --seeds N         run seeds first..first+N-1; exit 0 only if all pass (--progress-every K prints a
 *                     running count every K seeds)
 *   --seed S          replay one seed exactly (--verbose traces every event; with --inject-bug X, with
 *                     that bug, to see how the checker caught it)
 *   --inject-bug X    run seeds with a deliberate bug until the checker catches it; exit 1 if any bug
 *                     listed ("all" = every known bug) survives --bug-seeds-max seeds (default 1000)
 */
import { BUG_NAMES, type BugName } from '../raft/core/types.js';
import { CONTROLLER_BUG_NAMES } from '../controller/partition-change.js';
import { runControllerSimulation } from './controller-sim.js';
import { runSimulation, type SimResult } from './simulation.js';

interface CliOptions {
  seeds: number;
  first: number;
  seed: number | undefined;
  verbose: boolean;
  injectBug: string | undefined;
  bugSeedsMax: number;
  progressEvery: number;
  controller: boolean;
}

/** What one seed reports, for either simulation. */
interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly events: number;
  readonly stats: object;
  readonly summary: string;
}

let controllerMode = false;

function bugNames(): readonly string[] {
  return controllerMode ? CONTROLLER_BUG_NAMES : BUG_NAMES;
}

function runSeed(seed: number, bugs: ReadonlySet<string>, trace?: (line: string) => void): SeedResult {
  if (controllerMode) {
    const r = runControllerSimulation({ seed, bugs: bugs as ReadonlySet<never>, trace });
    return { ...r, summary: `nodes=${r.nodes} events=${r.events} simulated=${r.timeMs}ms` };
  }
  const r = runSimulation({ seed, bugs: bugs as ReadonlySet<BugName>, trace });
  return { ...r, summary: summarize(r) };
}

function summarize(result: SimResult): string {
  return `voters=${result.voters} observers=${result.observers} events=${result.events} simulated=${result.timeMs}ms `
    + `committed=${result.committed} reads=${result.readsChecked}`;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    seeds: 100, first: 1, seed: undefined, verbose: false, injectBug: undefined, bugSeedsMax: 1000, progressEvery: 0, controller: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--seeds': options.seeds = positiveInteger(value(), arg); break;
      case '--first': options.first = positiveInteger(value(), arg); break;
      case '--seed': options.seed = positiveInteger(value(), arg); break;
      case '--verbose': options.verbose = true; break;
      case '--inject-bug': options.injectBug = value(); break;
      case '--bug-seeds-max': options.bugSeedsMax = positiveInteger(value(), arg); break;
      case '--progress-every': options.progressEvery = positiveInteger(value(), arg); break;
      case '--controller': options.controller = true; break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  return options;
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} expects a non-negative integer, got ${text}`);
  return value;
}

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describe(result: SeedResult): string {
  return `seed ${result.seed}: ${result.ok ? 'ok' : 'FAIL'} ${result.summary}`
    + `\n  ${Object.entries(result.stats).map(([name, count]) => `${name}=${count}`).join(' ')}`
    + (result.failure === undefined ? '' : `\n  ${result.failure}`);
}

function flag(): string {
  return controllerMode ? '--controller ' : '';
}

function replay(seed: number, verbose: boolean, bugs: ReadonlySet<string>): number {
  const result = runSeed(seed, bugs, verbose ? write : undefined);
  write(describe(result));
  return result.ok ? 0 : 1;
}

function runSeeds(first: number, count: number, progressEvery: number): number {
  const startedMs = performance.now();
  let events = 0;
  let failed = 0;
  const totals = new Map<string, number>();
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, new Set());
    events += result.events;
    for (const [name, value] of Object.entries(result.stats)) totals.set(name, (totals.get(name) ?? 0) + (value as number));
    if (!result.ok) {
      failed++;
      write(describe(result));
      write(`  replay: npm run sim -- ${flag()}--seed ${seed} --verbose`);
    }
    const done = seed - first + 1;
    if (progressEvery > 0 && done % progressEvery === 0) {
      write(`progress: ${done} seeds, ${failed} failed, ${events} events, ${((performance.now() - startedMs) / 1000).toFixed(0)}s`);
    }
  }
  const seconds = (performance.now() - startedMs) / 1000;
  write(`totals: ${[...totals].map(([name, value]) => `${name}=${value}`).join(' ')}`);
  write(`seeds: ${count} (first ${first}) passed: ${count - failed} failed: ${failed} events: ${events} wall: ${seconds.toFixed(1)}s`);
  return failed === 0 ? 0 : 1;
}

function huntBug(bug: string, seedsMax: number): boolean {
  const bugs = new Set([bug]);
  let events = 0;
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = runSeed(seed, bugs);
    events += result.events;
    if (!result.ok) {
      write(`bug ${bug}: caught at seed ${seed} (${seed} seeds, ${events} events): ${result.failure}`);
      write(`  replay: npm run sim -- ${flag()}--inject-bug ${bug} --seed ${seed} --verbose`);
      return true;
    }
  }
  write(`bug ${bug}: NOT caught in ${seedsMax} seeds (${events} events)`);
  return false;
}

function injectBugs(name: string, seedsMax: number): number {
  const known = bugNames();
  const bugs = name === 'all' ? [...known] : [name];
  const unknown = bugs.filter((bug) => !known.includes(bug));
  if (unknown.length > 0) {
    write(`unknown bug ${unknown.join(', ')}; known: ${known.join(', ')}, all`);
    return 2;
  }
  const missed = bugs.filter((bug) => !huntBug(bug, seedsMax));
  write(missed.length === 0 ? `all ${bugs.length} injected bugs caught` : `undetected: ${missed.join(', ')}`);
  return missed.length === 0 ? 0 : 1;
}

function main(argv: readonly string[]): number {
  const options = parseArgs(argv);
  controllerMode = options.controller;
  if (options.seed !== undefined) {
    const bug = options.injectBug;
    if (bug !== undefined && !bugNames().includes(bug)) throw new Error(`unknown bug ${bug}`);
    return replay(options.seed, options.verbose, new Set(bug === undefined ? [] : [bug]));
  }
  if (options.injectBug !== undefined) return injectBugs(options.injectBug, options.bugSeedsMax);
  return runSeeds(options.first, options.seeds, options.progressEvery);
}

process.exitCode = main(process.argv.slice(2));
