/**
 * The chaos suite's checker (issue #23): a pure function over what the clients were told, independent of
 * the harness that made the faults and of the broker's own view. Inputs are histories: each producer's
 * acknowledgements (value → partition, offset), each reader's consumed records (with the assignment
 * session they were read in) and committed offsets, and the final read of every partition from its log
 * start offset to its high watermark by a fresh consumer after healing.
 *
 * What it counts (Jepsen's Kafka / Redpanda analyses name the same anomalies):
 * - lost: a value acknowledged (acks=all) that the final read does not hold at all;
 * - moved: an acknowledged value found in the final read, but not at the acknowledged offset;
 * - inconsistent: one (partition, offset) observed with two values — across acknowledgements, readers and
 *   the final read — or a record a reader consumed at an offset the final log no longer has;
 * - duplicates: one value at two offsets (a violation for an idempotent producer; counted, allowed, for a
 *   non-idempotent one whose retries may write twice);
 * - unsent: a value read that no producer sent;
 * - out-of-order: a reader consuming an offset ≤ the previous one of the same partition within one
 *   assignment (a new assignment may legitimately restart from the committed offset);
 * - commit regressions: a group's successful committed offset for a partition going back;
 * - double assignments: one partition in the assignments of two members of one group in the same
 *   generation (members that log their generation: the franz-go group consumers; Kafka's
 *   VerifiableConsumer prints none). In the classic protocol a generation is one group-wide assignment
 *   the leader computed and the coordinator handed out, so two owners in one generation means the
 *   coordinator reused a generation (e.g. group metadata lost in a failover) or the assignment was wrong;
 * - final gaps: an offset between log start and high watermark the final read did not return.
 * It also reports availability: acknowledgements per second, and the rate before / during / after each
 * fault. Everything but duplicates of non-idempotent producers makes the run fail.
 */

export interface Ack { readonly value: string; readonly partition: number; readonly offset: number; readonly atMs: number }

export interface ProducerHistory {
  readonly name: string;
  /** The value prefix (VerifiableProducer --value-prefix): values are `${prefix}.${counter}`. */
  readonly prefix: number;
  readonly idempotent: boolean;
  readonly acks: readonly Ack[];
  readonly errors: number;
  /** Values 0..sent-1 were handed to the client (its closing tool_data); undefined when it never said. */
  readonly sent: number | undefined;
}

export interface ReadRecord { readonly partition: number; readonly offset: number; readonly value: string; readonly atMs: number; readonly session: number }

export interface Commit { readonly partition: number; readonly offset: number; readonly atMs: number }

/** A group member's whole assignment in one generation, as the member logged it after its SyncGroup. */
export interface Assignment { readonly generation: number; readonly memberId: string; readonly partitions: readonly number[]; readonly atMs: number }

export interface ReaderHistory {
  readonly name: string;
  /** The consumer group, null for a reader by assignment. */
  readonly group: string | null;
  readonly records: readonly ReadRecord[];
  /** Successful commits only. */
  readonly commits: readonly Commit[];
  /** Assignments with their generation; empty for readers that do not log one. */
  readonly assignments?: readonly Assignment[];
}

export interface FinalPartition {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly records: ReadonlyArray<{ readonly offset: number; readonly value: string }>;
}

export interface FaultEvent { readonly kind: string; readonly detail: string; readonly startMs: number; readonly endMs: number }

export interface Anomaly { readonly kind: AnomalyKind; readonly detail: string }
export type AnomalyKind = 'lost' | 'moved' | 'inconsistent' | 'duplicate' | 'unsent' | 'out-of-order' | 'commit-regression' | 'double-assignment' | 'final-gap';

export interface CheckResult {
  readonly acked: number;
  readonly ackedIdempotent: number;
  readonly finalRecords: number;
  readonly lost: number;
  readonly moved: number;
  readonly inconsistent: number;
  readonly duplicatesIdempotent: number;
  readonly duplicatesPlain: number;
  readonly unsent: number;
  readonly outOfOrder: number;
  readonly commitRegressions: number;
  /** Partitions held by two members of one group in one generation. */
  readonly doubleAssignments: number;
  /** Generations with logged assignments the double-assignment check looked at (all groups). */
  readonly generationsChecked: number;
  readonly finalGaps: number;
  /** Up to `examplesMax` anomalies per kind, for the report. */
  readonly examples: readonly Anomaly[];
  readonly ok: boolean;
}

const EXAMPLES_MAX = 5;

interface Location { readonly partition: number; readonly offset: number }

export function check(producers: readonly ProducerHistory[], readers: readonly ReaderHistory[], final: readonly FinalPartition[]): CheckResult {
  const examples: Anomaly[] = [];
  const counts = new Map<AnomalyKind, number>();
  const note = (kind: AnomalyKind, detail: string): void => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= EXAMPLES_MAX) examples.push({ kind, detail });
  };

  const finalAt = new Map<number, Map<number, string>>();
  const locations = new Map<string, Location[]>();
  let finalRecords = 0;
  for (const p of final) {
    const byOffset = new Map<number, string>();
    finalAt.set(p.partition, byOffset);
    for (const r of p.records) {
      finalRecords++;
      const previous = byOffset.get(r.offset);
      if (previous !== undefined) {
        if (previous !== r.value) note('inconsistent', `final read: p${p.partition}@${r.offset} returned both ${previous} and ${r.value}`);
        continue;
      }
      byOffset.set(r.offset, r.value);
      const at = locations.get(r.value) ?? [];
      at.push({ partition: p.partition, offset: r.offset });
      locations.set(r.value, at);
    }
    checkFinalGaps(p, byOffset, note);
  }

  checkAcks(producers, finalAt, locations, note);
  checkDuplicates(producers, locations, note);
  checkObservations(producers, readers, finalAt, note);
  checkUnsent(producers, readers, locations, note);
  checkReaders(readers, note);
  const generationsChecked = checkGenerations(readers, note);

  const count = (kind: AnomalyKind): number => counts.get(kind) ?? 0;
  const duplicatesIdempotent = countDuplicates(producers, locations, true);
  const duplicatesPlain = countDuplicates(producers, locations, false);
  const result = {
    acked: producers.reduce((n, p) => n + p.acks.length, 0),
    ackedIdempotent: producers.filter((p) => p.idempotent).reduce((n, p) => n + p.acks.length, 0),
    finalRecords,
    lost: count('lost'),
    moved: count('moved'),
    inconsistent: count('inconsistent'),
    duplicatesIdempotent,
    duplicatesPlain,
    unsent: count('unsent'),
    outOfOrder: count('out-of-order'),
    commitRegressions: count('commit-regression'),
    doubleAssignments: count('double-assignment'),
    generationsChecked,
    finalGaps: count('final-gap'),
    examples,
  };
  const ok = result.lost + result.moved + result.inconsistent + result.duplicatesIdempotent + result.unsent + result.outOfOrder
    + result.commitRegressions + result.doubleAssignments + result.finalGaps === 0;
  return { ...result, ok };
}

type Note = (kind: AnomalyKind, detail: string) => void;

/** Offsets are dense in a log without transactions: every offset from log start to HW must be read. */
function checkFinalGaps(p: FinalPartition, byOffset: ReadonlyMap<number, string>, note: Note): void {
  let gapStart = -1;
  for (let offset = p.logStartOffset; offset <= p.highWatermark; offset++) {
    const missing = offset < p.highWatermark && !byOffset.has(offset);
    if (missing && gapStart < 0) gapStart = offset;
    if (!missing && gapStart >= 0) {
      note('final-gap', `final read: p${p.partition} offsets ${gapStart}..${offset - 1} missing (log start ${p.logStartOffset}, HW ${p.highWatermark})`);
      gapStart = -1;
    }
  }
}

function checkAcks(producers: readonly ProducerHistory[], finalAt: ReadonlyMap<number, ReadonlyMap<number, string>>, locations: ReadonlyMap<string, Location[]>, note: Note): void {
  for (const producer of producers) {
    for (const ack of producer.acks) {
      const at = locations.get(ack.value);
      if (at === undefined) {
        note('lost', `${producer.name}: ${ack.value} acknowledged at p${ack.partition}@${ack.offset} (t=${ack.atMs} ms) is not in the final read`
          + ` (final p${ack.partition}@${ack.offset} = ${finalAt.get(ack.partition)?.get(ack.offset) ?? 'nothing'})`);
      } else if (!at.some((l) => l.partition === ack.partition && l.offset === ack.offset)) {
        note('moved', `${producer.name}: ${ack.value} acknowledged at p${ack.partition}@${ack.offset} is at ${at.map((l) => `p${l.partition}@${l.offset}`).join(', ')} in the final read`);
      }
    }
  }
}

function producerOf(producers: readonly ProducerHistory[], value: string): ProducerHistory | undefined {
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const prefix = Number(value.slice(0, dot));
  return producers.find((p) => p.prefix === prefix);
}

function checkDuplicates(producers: readonly ProducerHistory[], locations: ReadonlyMap<string, Location[]>, note: Note): void {
  for (const [value, at] of locations) {
    if (at.length < 2) continue;
    const producer = producerOf(producers, value);
    const where = at.map((l) => `p${l.partition}@${l.offset}`).join(', ');
    if (producer?.idempotent === true) note('duplicate', `idempotent ${producer.name}: ${value} at ${where}`);
  }
}

function countDuplicates(producers: readonly ProducerHistory[], locations: ReadonlyMap<string, Location[]>, idempotent: boolean): number {
  let n = 0;
  for (const [value, at] of locations) {
    if (at.length >= 2 && (producerOf(producers, value)?.idempotent ?? false) === idempotent) n += at.length - 1;
  }
  return n;
}

/** One (partition, offset), one value, whoever observed it and whenever. */
function checkObservations(producers: readonly ProducerHistory[], readers: readonly ReaderHistory[], finalAt: ReadonlyMap<number, ReadonlyMap<number, string>>, note: Note): void {
  const seen = new Map<string, { value: string; by: string }>();
  const reported = new Set<string>();
  const observe = (partition: number, offset: number, value: string, by: string): void => {
    const key = `${partition}@${offset}`;
    const finalValue = finalAt.get(partition)?.get(offset);
    if (finalValue !== undefined && finalValue !== value && !reported.has(key)) {
      reported.add(key);
      note('inconsistent', `p${key}: ${by} saw ${value}, the final read has ${finalValue}`);
      return;
    }
    const first = seen.get(key);
    if (first === undefined) seen.set(key, { value, by });
    else if (first.value !== value && !reported.has(key)) {
      reported.add(key);
      note('inconsistent', `p${key}: ${first.by} saw ${first.value}, ${by} saw ${value}`);
    }
  };
  for (const producer of producers) for (const a of producer.acks) observe(a.partition, a.offset, a.value, `${producer.name} (ack)`);
  for (const reader of readers) {
    for (const r of reader.records) {
      observe(r.partition, r.offset, r.value, reader.name);
      const partition = finalAt.get(r.partition);
      const key = `${r.partition}@${r.offset}`;
      if (partition !== undefined && !partition.has(r.offset) && !reported.has(key)) {
        reported.add(key);
        note('inconsistent', `p${key}: ${reader.name} read ${r.value} (t=${r.atMs} ms), the final log has no record there`);
      }
    }
  }
}

function checkUnsent(producers: readonly ProducerHistory[], readers: readonly ReaderHistory[], locations: ReadonlyMap<string, Location[]>, note: Note): void {
  const reported = new Set<string>();
  const judge = (value: string, by: string): void => {
    if (reported.has(value)) return;
    const producer = producerOf(producers, value);
    const counter = Number(value.slice(value.indexOf('.') + 1));
    const known = producer !== undefined && Number.isInteger(counter) && counter >= 0 && (producer.sent === undefined || counter < producer.sent);
    if (!known) {
      reported.add(value);
      note('unsent', `${by} read ${JSON.stringify(value)}, which no producer sent`);
    }
  };
  for (const value of locations.keys()) judge(value, 'the final read');
  for (const reader of readers) for (const r of reader.records) judge(r.value, reader.name);
}

function checkReaders(readers: readonly ReaderHistory[], note: Note): void {
  for (const reader of readers) {
    const last = new Map<string, number>();
    for (const r of reader.records) {
      const key = `${r.session}/${r.partition}`;
      const previous = last.get(key);
      if (previous !== undefined && r.offset <= previous) {
        note('out-of-order', `${reader.name}: p${r.partition}@${r.offset} after @${previous} in assignment ${r.session} (t=${r.atMs} ms)`);
      }
      last.set(key, r.offset);
    }
  }
  const byGroup = new Map<string, Array<{ reader: string; commit: Commit }>>();
  for (const reader of readers) {
    if (reader.group === null) continue;
    const commits = byGroup.get(reader.group) ?? [];
    for (const commit of reader.commits) commits.push({ reader: reader.name, commit });
    byGroup.set(reader.group, commits);
  }
  for (const [group, commits] of byGroup) {
    const highest = new Map<number, { offset: number; reader: string }>();
    for (const { reader, commit } of [...commits].sort((a, b) => a.commit.atMs - b.commit.atMs)) {
      const before = highest.get(commit.partition);
      if (before !== undefined && commit.offset < before.offset) {
        note('commit-regression', `group ${group} p${commit.partition}: ${reader} committed ${commit.offset} at t=${commit.atMs} ms after ${before.reader} committed ${before.offset}`);
      } else {
        highest.set(commit.partition, { offset: commit.offset, reader });
      }
    }
  }
}

/**
 * One owner per partition per generation of a group. A member's assignment is what it logged for that
 * generation (its last event if it logged several: a re-sync in one generation hands out the same
 * assignment). Returns how many (group, generation) pairs were looked at.
 */
function checkGenerations(readers: readonly ReaderHistory[], note: Note): number {
  // group → generation → partition → owners ("reader/member")
  const owners = new Map<string, Map<number, Map<number, Set<string>>>>();
  for (const reader of readers) {
    if (reader.group === null) continue;
    const latest = new Map<string, Assignment>();
    for (const a of reader.assignments ?? []) latest.set(`${a.generation}/${a.memberId}`, a);
    for (const a of latest.values()) {
      const byGeneration = owners.get(reader.group) ?? new Map<number, Map<number, Set<string>>>();
      owners.set(reader.group, byGeneration);
      const byPartition = byGeneration.get(a.generation) ?? new Map<number, Set<string>>();
      byGeneration.set(a.generation, byPartition);
      for (const p of a.partitions) {
        const set = byPartition.get(p) ?? new Set<string>();
        set.add(`${reader.name}/${a.memberId}`);
        byPartition.set(p, set);
      }
    }
  }
  let generations = 0;
  for (const [group, byGeneration] of owners) {
    for (const [generation, byPartition] of [...byGeneration].sort((a, b) => a[0] - b[0])) {
      generations++;
      for (const [partition, set] of [...byPartition].sort((a, b) => a[0] - b[0])) {
        if (set.size > 1) note('double-assignment', `group ${group} generation ${generation}: p${partition} assigned to ${[...set].sort().join(' and ')}`);
      }
    }
  }
  return generations;
}

export function summaryLine(r: CheckResult): string {
  return `acked ${r.acked} (idempotent ${r.ackedIdempotent}), final read ${r.finalRecords}; lost ${r.lost}, moved ${r.moved}, inconsistent ${r.inconsistent}, `
    + `duplicates ${r.duplicatesIdempotent} idempotent / ${r.duplicatesPlain} non-idempotent (allowed), unsent ${r.unsent}, out-of-order ${r.outOfOrder}, `
    + `commit regressions ${r.commitRegressions}, double assignments ${r.doubleAssignments} (${r.generationsChecked} generations), final gaps ${r.finalGaps} → ${r.ok ? 'PASS' : 'FAIL'}`;
}

export interface Availability {
  readonly seconds: number;
  readonly acksPerSecondMean: number;
  /** Seconds in which no producer got any acknowledgement. */
  readonly zeroAckSeconds: number;
  readonly longestOutageMs: number;
  readonly perFault: ReadonlyArray<{ readonly fault: FaultEvent; readonly before: number; readonly during: number; readonly after: number }>;
  /** Acks per 5 s window, for the timeline. */
  readonly windows: readonly number[];
}

const WINDOW_MS = 5_000;
const AROUND_MS = 10_000;

/** Acknowledgement rate over [startMs, endMs) and around each fault (acks/s in the 10 s before, during, 10 s after). */
export function availability(acks: readonly Ack[], faults: readonly FaultEvent[], startMs: number, endMs: number): Availability {
  const times = acks.map((a) => a.atMs).filter((t) => t >= startMs && t < endMs).sort((a, b) => a - b);
  const seconds = Math.max(1, Math.ceil((endMs - startMs) / 1000));
  const perSecond = new Array<number>(seconds).fill(0);
  for (const t of times) perSecond[Math.floor((t - startMs) / 1000)]! += 1;
  let longestOutageMs = 0;
  let previous = startMs;
  for (const t of [...times, endMs]) {
    longestOutageMs = Math.max(longestOutageMs, t - previous);
    previous = t;
  }
  const rate = (from: number, to: number): number => {
    if (to <= from) return 0;
    return countBetween(times, from, to) / ((to - from) / 1000);
  };
  const windows: number[] = [];
  for (let t = startMs; t < endMs; t += WINDOW_MS) windows.push(countBetween(times, t, Math.min(endMs, t + WINDOW_MS)));
  return {
    seconds,
    acksPerSecondMean: times.length / ((endMs - startMs) / 1000),
    zeroAckSeconds: perSecond.filter((n) => n === 0).length,
    longestOutageMs,
    perFault: faults.map((fault) => ({
      fault,
      before: rate(Math.max(startMs, fault.startMs - AROUND_MS), fault.startMs),
      during: rate(fault.startMs, fault.endMs),
      after: rate(fault.endMs, Math.min(endMs, fault.endMs + AROUND_MS)),
    })),
    windows,
  };
}

function countBetween(sorted: readonly number[], from: number, to: number): number {
  return lowerBound(sorted, to) - lowerBound(sorted, from);
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
