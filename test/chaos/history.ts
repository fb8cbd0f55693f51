/**
 * Histories from the JSON lines Kafka's own test clients print (the kafka-tools jar's VerifiableProducer
 * and VerifiableConsumer, which Kafka's system tests drive the same way): one event per line, each with
 * `timestamp` (ms since the epoch) and `name`. Producer events: producer_send_success {value, partition,
 * offset}, producer_send_error {value, exception}, tool_data {sent, acked}. Consumer events (--verbose):
 * record_data {value, partition, offset}, partitions_assigned / partitions_revoked, offsets_committed
 * {offsets: [{partition, offset}], success}. The franz-go workloads (test/interop/go/chaos.go) print the same
 * events, and their group members add `generation` and `member_id` to partitions_assigned, whose
 * `partitions` is then the member's whole assignment in that generation (kept for the checker's
 * two-owners-in-one-generation check); fetch_error {partition, error} is counted. Lines that are not JSON
 * (a client's log output) are ignored.
 * Times are kept relative to the run's start so the checker and the fault log share one clock.
 */
import type { Ack, Assignment, Commit, ProducerHistory, ReaderHistory, ReadRecord } from './checker.js';

interface Event {
  readonly timestamp?: number;
  readonly name?: string;
  readonly value?: string | null;
  readonly partition?: number;
  readonly offset?: number;
  readonly sent?: number;
  readonly success?: boolean;
  readonly offsets?: ReadonlyArray<{ partition: number; offset: number }>;
  readonly partitions?: ReadonlyArray<{ partition: number }>;
  readonly generation?: number;
  readonly member_id?: string;
  readonly error?: string;
}

function parse(line: string): Event | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Event;
  } catch {
    return undefined;
  }
}

export class ProducerRecorder {
  private readonly acks: Ack[] = [];
  private errors = 0;
  private sent: number | undefined;

  constructor(readonly name: string, readonly prefix: number, readonly idempotent: boolean, private readonly startMs: number) {}

  line(text: string): void {
    const e = parse(text);
    if (e === undefined) return;
    const atMs = (e.timestamp ?? this.startMs) - this.startMs;
    if (e.name === 'producer_send_success' && typeof e.value === 'string' && e.partition !== undefined && e.offset !== undefined) {
      this.acks.push({ value: e.value, partition: e.partition, offset: e.offset, atMs });
    } else if (e.name === 'producer_send_error') {
      this.errors++;
    } else if (e.name === 'tool_data' && e.sent !== undefined) {
      this.sent = e.sent;
    }
  }

  get ackCount(): number {
    return this.acks.length;
  }

  history(): ProducerHistory {
    return { name: this.name, prefix: this.prefix, idempotent: this.idempotent, acks: this.acks, errors: this.errors, sent: this.sent };
  }
}

export class ConsumerRecorder {
  private readonly records: ReadRecord[] = [];
  private readonly commits: Commit[] = [];
  private readonly assignments: Assignment[] = [];
  private session = 0;
  /** fetch_error events (franz-go readers): not an anomaly by themselves, reported. */
  fetchErrors = 0;
  /** The first few fetch errors as the client worded them (franz-go surfaces e.g. data loss it detected). */
  readonly fetchErrorExamples: string[] = [];
  /** Highest offset + 1 read per partition (the final reader's progress). */
  readonly next = new Map<number, number>();

  constructor(readonly name: string, readonly group: string | null, private readonly startMs: number) {}

  line(text: string): void {
    const e = parse(text);
    if (e === undefined) return;
    const atMs = (e.timestamp ?? this.startMs) - this.startMs;
    switch (e.name) {
      case 'record_data':
        if (typeof e.value === 'string' && e.partition !== undefined && e.offset !== undefined) {
          this.records.push({ partition: e.partition, offset: e.offset, value: e.value, atMs, session: this.session });
          this.next.set(e.partition, Math.max(this.next.get(e.partition) ?? 0, e.offset + 1));
        }
        break;
      case 'partitions_assigned':
        this.session++;
        if (e.generation !== undefined && e.member_id !== undefined) {
          this.assignments.push({ generation: e.generation, memberId: e.member_id, partitions: (e.partitions ?? []).map((p) => p.partition), atMs });
        }
        break;
      case 'partitions_revoked':
      case 'partitions_lost':
        this.session++;
        break;
      case 'fetch_error':
        this.fetchErrors++;
        if (this.fetchErrorExamples.length < 3) this.fetchErrorExamples.push(`t=${atMs} ms p${e.partition}: ${e.error ?? '?'}`);
        break;
      case 'offsets_committed':
        if (e.success === true) for (const o of e.offsets ?? []) this.commits.push({ partition: o.partition, offset: o.offset, atMs });
        break;
      default:
        break;
    }
  }

  get recordCount(): number {
    return this.records.length;
  }

  history(): ReaderHistory {
    return { name: this.name, group: this.group, records: this.records, commits: this.commits, assignments: this.assignments };
  }
}
