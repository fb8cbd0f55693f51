/**
 * The chaos harness (issue #23): `npm run chaos -- --minutes N --faults kill,pause,partition,loss,delay
 * --seed S [--nodes 3|5] [--rate R] [--clients java,franz] [--keep]`.
 *
 * A Runnel cluster of 3 (or 5) processes, each in its own network namespace (test/chaos/net.ts); a topic
 * with RF 3 and min.insync.replicas=2; clients we did not write, logging what they were told: Kafka's
 * VerifiableProducer twice (acks=all, idempotent and not) and two VerifiableConsumers in one group, and
 * franz-go's producer twice (idempotent and not), two group members that log each assignment's
 * generation, and a consumer by assignment (test/chaos/workload.ts); and a seeded schedule of faults
 * (test/chaos/schedule.ts): kill -9 + restart, SIGSTOP/SIGCONT longer than the session and lag timeouts,
 * network partitions (isolate the leader, majority/minority, bridge, one-way), packet loss and delay
 * (bandwidth shaping: this kernel has no netem), aimed at a random node, a partition's leader or the
 * active controller. After the last
 * fault everything heals; the cluster must converge (every broker registered, every ISR full), the
 * producers stop, the group catches up, a fresh consumer reads every partition from its log start to its
 * high watermark, the replicas must be byte-identical below the HW, and the checker
 * (test/chaos/checker.ts) judges the histories. Exit 0 only when nothing is wrong; the seed and the command
 * that replays it are printed either way. Everything it made (processes, namespaces, rules) is removed in
 * a finally and on SIGINT / SIGTERM; the run directory is kept when the run fails (or with --keep).
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkByteIdentity } from '../replication/byte-identity.js';
import { availability, check, summaryLine, type FaultEvent, type FinalPartition } from './checker.js';
import { alive, ChaosCluster, sleep, type BrokerKind } from './cluster.js';
import { ChaosNetwork, ensureNft, networkMissing, nodeAddress, NO_RULES, type NodeRules, type ShapingStats } from './net.js';
import { activeController, brokerIds, createTopic, listOffset, partitionStates, type PartitionState } from './probe.js';
import { FAULT_KINDS, partitionCut, planFaults, shuffled, type Cut, type FaultKind, type PlannedFault } from './schedule.js';
import {
  clientsMissing, franzMissing, startConsumer, startFranzAssignReader, startFranzGroupMember, startFranzProducer, startProducer,
  type Producer, type Reader,
} from './workload.js';

const TOPIC = 'chaos';
const GROUP = 'chaos-group';
const FRANZ_GROUP = 'chaos-franz-group';
const CLIENT_KINDS = ['java', 'franz'] as const;
type ClientKind = (typeof CLIENT_KINDS)[number];
/** Metadata round trips to a delayed node: one every this often while the delay holds. */
const RTT_SAMPLE_EVERY_MS = 500;
const SESSION_TIMEOUT_MS = 9_000;
const REPLICA_LAG_TIME_MAX_MS = 10_000;
const CONVERGE_MS = 120_000;
const FINAL_CONVERGE_MS = 240_000;
const FAULTS_MAX = 2_000;
const PRODUCER_RESTARTS_MAX = 10;

interface Options {
  minutes: number;
  faults: FaultKind[];
  seed: number;
  nodes: number;
  partitions: number;
  rate: number;
  keep: boolean;
  logLevel: string;
  /** 'all' (the guarantee under test) or '1' (no replication wait: proves the checker finds losses). */
  acks: 'all' | '1';
  unclean: boolean;
  /** Runnel, or Apache Kafka 4.4.0 as the reference that proves the harness and checker. */
  broker: BrokerKind;
  /** Which workloads: Kafka's Java tools, franz-go, or both (the default). */
  clients: ClientKind[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { minutes: 3, faults: [...FAULT_KINDS], seed: (Date.now() ^ (process.pid << 16)) >>> 0, nodes: 3, partitions: 3, rate: 100, keep: false, logLevel: 'info', acks: 'all', unclean: false, broker: 'runnel', clients: [...CLIENT_KINDS] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--minutes': o.minutes = Number(value()); break;
      case '--seed': o.seed = Number(value()) >>> 0; break;
      case '--nodes': o.nodes = Number(value()); break;
      case '--partitions': o.partitions = Number(value()); break;
      case '--rate': o.rate = Number(value()); break;
      case '--log-level': o.logLevel = value(); break;
      case '--keep': o.keep = true; break;
      case '--unclean': o.unclean = true; break;
      case '--broker': {
        const broker = value();
        if (broker !== 'runnel' && broker !== 'kafka') throw new Error('--broker must be runnel or kafka');
        o.broker = broker;
        break;
      }
      case '--acks': {
        const acks = value();
        if (acks !== 'all' && acks !== '1') throw new Error('--acks must be all or 1');
        o.acks = acks;
        break;
      }
      case '--clients': {
        const kinds = value().split(',').filter((k) => k !== '');
        for (const k of kinds) if (!(CLIENT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown clients ${k} (expected ${CLIENT_KINDS.join(',')})`);
        if (kinds.length === 0) throw new Error('--clients needs java, franz or both');
        o.clients = [...new Set(kinds)] as ClientKind[];
        break;
      }
      case '--faults': {
        const kinds = value().split(',').filter((k) => k !== '');
        for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault ${k} (expected ${FAULT_KINDS.join(',')})`);
        o.faults = kinds as FaultKind[];
        break;
      }
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!(o.minutes > 0 && o.minutes <= 24 * 60)) throw new Error('--minutes must be in (0, 1440]');
  if (o.nodes !== 3 && o.nodes !== 5) throw new Error('--nodes must be 3 or 5');
  if (!(o.rate > 0 && o.rate <= 10_000)) throw new Error('--rate must be in (0, 10000] records/s per producer');
  if (!(o.partitions >= 1 && o.partitions <= 64)) throw new Error('--partitions must be in [1, 64]');
  return o;
}

const replayCommand = (o: Options): string =>
  `npm run chaos -- --minutes ${o.minutes} --faults ${o.faults.join(',')} --seed ${o.seed} --nodes ${o.nodes} --rate ${o.rate}`
  + (o.partitions !== 3 ? ` --partitions ${o.partitions}` : '') + (o.acks !== 'all' ? ` --acks ${o.acks}` : '') + (o.unclean ? ' --unclean' : '') + (o.broker !== 'runnel' ? ` --broker ${o.broker}` : '')
  + (o.clients.length !== CLIENT_KINDS.length ? ` --clients ${o.clients.join(',')}` : '');

class Harness {
  readonly startMs = Date.now();
  readonly net: ChaosNetwork;
  readonly cluster: ChaosCluster;
  readonly faults: FaultEvent[] = [];
  readonly counts = new Map<string, number>();
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  readonly producers: WorkloadProducer[] = [];
  readonly consumers: WorkloadReader[] = [];
  private producerRestarts = 0;
  private readonly killedByUs = new Set<number>();
  private aborted = false;

  constructor(readonly o: Options, readonly root: string) {
    const ids = Array.from({ length: o.nodes }, (_, i) => i + 1);
    this.net = new ChaosNetwork(ids);
    this.cluster = new ChaosCluster(root, o.nodes, {
      'replica.lag.time.max.ms': String(REPLICA_LAG_TIME_MAX_MS),
      'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
      'min.insync.replicas': '2',
      'offsets.topic.num.partitions': '5',
      'unclean.leader.election.enable': String(o.unclean),
    }, o.logLevel, o.broker);
  }

  log(line: string): void {
    const t = ((Date.now() - this.startMs) / 1000).toFixed(1).padStart(7);
    process.stdout.write(`[chaos t=${t}s] ${line}\n`);
  }

  abort(): void {
    this.aborted = true;
  }

  private get now(): number {
    return Date.now() - this.startMs;
  }

  async run(): Promise<boolean> {
    this.net.setup();
    this.log(`network: namespaces rchaos-n1..${this.o.nodes}, bridge rchaos0, nodes at ${nodeAddress(1)}..${nodeAddress(this.o.nodes)}`);
    await this.cluster.writeConfigs();
    await this.cluster.startAll();
    this.watchCrashes();
    this.log(`${this.o.broker} cluster of ${this.o.nodes} up; bootstrap ${this.cluster.bootstrap}`);
    const created = await createTopic(this.cluster.nodes[0]!.endpoint, TOPIC, this.o.partitions, 3,
      { 'min.insync.replicas': '2', 'unclean.leader.election.enable': String(this.o.unclean) });
    if (created !== 0) throw new Error(`CreateTopics ${TOPIC}: error ${created}`);
    await this.waitConverged('topic created', CONVERGE_MS);

    const java = this.o.clients.includes('java');
    const franz = this.o.clients.includes('franz');
    // Value prefixes (restarts add 10 each): 1 / 2 VerifiableProducer idempotent / not, 3 / 4 franz-go.
    if (java) {
      await this.startProducer({ kind: 'java', idempotent: true, base: 1 });
      await this.startProducer({ kind: 'java', idempotent: false, base: 2 });
    }
    if (franz) {
      await this.startProducer({ kind: 'franz', idempotent: true, base: 3 });
      await this.startProducer({ kind: 'franz', idempotent: false, base: 4 });
    }
    const { root, startMs } = this;
    const bootstrap = this.cluster.bootstrap;
    const partitions = this.o.partitions;
    if (java) {
      for (const i of [1, 2]) this.startReader((name) => startConsumer(root, bootstrap, TOPIC, name, GROUP, startMs), `consumer-${i}`);
    }
    if (franz) {
      for (const i of [1, 2]) this.startReader((name) => startFranzGroupMember(root, bootstrap, TOPIC, name, FRANZ_GROUP, startMs), `franz-group-${i}`);
      this.startReader((name) => startFranzAssignReader(root, bootstrap, TOPIC, partitions, name, startMs), 'franz-assign');
    }
    await this.until('first acknowledgements', () => {
      const dead = [...this.producers, ...this.consumers].find((c) => c.client.died);
      if (dead !== undefined) throw new Error(`${dead.client.name} exited: ${dead.client.stderrTail.slice(-1500)}`);
      return this.producers.every((p) => p.recorder.ackCount > 0);
    }, 120_000);
    const pair = this.o.acks === 'all' ? 'idempotent + non-idempotent' : 'non-idempotent ×2';
    this.log(`workload running (acks=${this.o.acks}): ${[
      ...(java ? [`VerifiableProducer ${pair}`, '2 VerifiableConsumers in a group'] : []),
      ...(franz ? [`franz-go producer ${pair}`, '2 franz-go group members', 'a franz-go consumer by assignment'] : []),
    ].join(', ')}${this.o.unclean ? '; unclean.leader.election.enable=true' : ''}`);

    const faultsEndMs = this.now + this.o.minutes * 60_000;
    const plan = planFaults(this.o.seed, this.o.faults, FAULTS_MAX, { sessionTimeoutMs: SESSION_TIMEOUT_MS, replicaLagTimeMaxMs: REPLICA_LAG_TIME_MAX_MS });
    for (const fault of plan) {
      if (this.aborted || this.now + fault.durationMs > faultsEndMs) break;
      await this.inject(fault);
      await this.keepWorkloadAlive();
      await this.churnGroupMember(fault.index);
      await this.waitConverged(`after fault ${fault.index}`, CONVERGE_MS).catch((e: unknown) => {
        this.notes.push(`fault ${fault.index}: not converged within ${CONVERGE_MS} ms (${(e as Error).message})`);
        this.log(`warning: ${(e as Error).message}`);
      });
      await sleep(Math.min(fault.gapMs, Math.max(0, faultsEndMs - this.now)));
    }
    if (this.aborted) throw new Error('interrupted');
    return this.finish();
  }

  private async startProducer(spec: ProducerSpec): Promise<void> {
    // A restarted producer gets a new prefix: values stay unique per client instance.
    const prefix = spec.base + 10 * this.producerRestarts;
    // Idempotence needs acks=all: with --acks 1 every producer is a plain one (prefixes still differ).
    const options = { idempotent: spec.idempotent && this.o.acks === 'all', prefix, throughput: this.o.rate, acks: this.o.acks };
    const started = spec.kind === 'java'
      ? await startProducer(this.root, this.cluster.bootstrap, TOPIC, options, this.startMs)
      : startFranzProducer(this.root, this.cluster.bootstrap, TOPIC, options, this.startMs);
    this.producers.push({ ...started, spec });
  }

  private startReader(start: (name: string) => Reader, name: string): void {
    this.consumers.push({ ...start(name), start });
  }

  /** A client that died on its own is noted (and replaced, bounded, so the run goes on); its history is kept. */
  private async keepWorkloadAlive(): Promise<void> {
    for (const p of [...this.producers]) {
      if (!p.client.died) continue;
      this.notes.push(`${p.client.name} exited on its own (code ${p.client.child.exitCode}): ${p.client.stderrTail.slice(-500)}`);
      this.log(`${p.client.name} exited on its own; stderr: ${p.client.stderrTail.slice(-300)}`);
      this.producers.splice(this.producers.indexOf(p), 1);
      this.retiredProducers.push(p);
      if (this.producerRestarts < PRODUCER_RESTARTS_MAX) {
        this.producerRestarts++;
        await this.startProducer(p.spec);
      }
    }
    for (const [i, c] of this.consumers.entries()) {
      if (!c.client.died) continue;
      this.notes.push(`${c.client.name} exited on its own: ${c.client.stderrTail.slice(-500)}`);
      this.retiredReaders.push(c);
      this.consumers[i] = { ...c.start(`${c.recorder.name}r`), start: c.start };
    }
  }

  /**
   * Group churn, so the franz-go group goes through generations for the double-assignment check: after
   * each fault one of its members is replaced — stopped (SIGTERM: it commits and leaves, the group
   * rebalances at once) after even faults, killed (SIGKILL: it stays a member until its session times out,
   * its partitions unread meanwhile) after odd ones — and a new member joins. Its history is kept.
   */
  private async churnGroupMember(faultIndex: number): Promise<void> {
    const members = this.consumers.filter((c) => c.recorder.group === FRANZ_GROUP);
    if (members.length === 0) return;
    const member = members[faultIndex % members.length]!;
    const graceful = faultIndex % 2 === 0;
    if (graceful) {
      await member.client.stop();
    } else {
      member.client.kill();
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([member.client.exited, new Promise((r) => { bound = setTimeout(r, 10_000); })]);
      clearTimeout(bound);
    }
    this.retiredReaders.push(member);
    const name = `${member.recorder.name.replace(/\.\d+$/, '')}.${faultIndex}`;
    this.consumers[this.consumers.indexOf(member)] = { ...member.start(name), start: member.start };
    this.log(`group churn: ${member.recorder.name} ${graceful ? 'stopped (left the group)' : 'killed (stays in the group until its session times out)'}; ${name} joins`);
  }

  readonly retiredProducers: WorkloadProducer[] = [];
  readonly retiredReaders: WorkloadReader[] = [];

  private watchCrashes(): void {
    const watch = (): void => {
      for (const n of this.cluster.nodes) {
        const child = n.child;
        if (child === undefined || (child as { chaosWatched?: boolean }).chaosWatched === true) continue;
        (child as { chaosWatched?: boolean }).chaosWatched = true;
        child.once('exit', (code, signal) => {
          if (this.killedByUs.delete(n.id)) return;
          const line = `node ${n.id} exited on its own (code ${code}, signal ${signal}) at t=${this.now} ms: ${n.tail.slice(-1500)}`;
          this.problems.push(line);
          this.log(`PROBLEM: ${line}`);
        });
      }
    };
    watch();
    this.rewatch = watch;
  }

  private rewatch: () => void = () => {};

  private async kill9(id: number): Promise<void> {
    this.killedByUs.add(id);
    await this.cluster.kill9(id);
  }

  private async restart(id: number): Promise<void> {
    this.cluster.spawn(id);
    this.rewatch();
    await this.cluster.waitRegistered(id);
  }

  /** Any node that answers: its view of the topic. */
  private async states(): Promise<PartitionState[]> {
    for (const n of this.cluster.nodes) {
      if (!alive(n) || n.paused) continue;
      const s = await partitionStates(n.endpoint, TOPIC).catch(() => undefined);
      if (s !== undefined && s.length > 0) return s;
    }
    return [];
  }

  private async resolveTarget(fault: PlannedFault): Promise<{ id: number; why: string }> {
    const ids = this.cluster.nodes.map((n) => n.id);
    const random = (): { id: number; why: string } => ({ id: ids[Math.floor(fault.picks[0] * ids.length)]!, why: 'random node' });
    if (fault.target === 'leader') {
      const states = await this.states();
      const p = states[Math.floor(fault.picks[1] * states.length)];
      if (p !== undefined && p.leader > 0) return { id: p.leader, why: `leader of ${TOPIC}-${p.partition}` };
    } else if (fault.target === 'controller') {
      for (const n of this.cluster.nodes) {
        if (!alive(n) || n.paused) continue;
        const leader = await activeController(n.endpoint).catch(() => -1);
        if (leader > 0) return { id: leader, why: 'active controller' };
      }
    }
    return random();
  }

  private async inject(fault: PlannedFault): Promise<void> {
    const startMs = this.now;
    let detail = '';
    switch (fault.kind) {
      case 'kill': {
        const { id, why } = await this.resolveTarget(fault);
        detail = `kill -9 node ${id} (${why}), restart after ${fault.durationMs} ms`;
        this.log(`fault ${fault.index}: ${detail}`);
        await this.kill9(id);
        await sleep(fault.durationMs);
        // A restart that does not register in time is a liveness note, not the end of the run: the
        // convergence wait after the fault (and the final one) tell whether the node came back.
        await this.restart(id).catch((e: unknown) => {
          this.notes.push(`fault ${fault.index}: node ${id} restart: ${(e as Error).message.slice(0, 300)}`);
          this.log(`warning: node ${id} restart: ${(e as Error).message.slice(0, 300)}`);
        });
        break;
      }
      case 'pause': {
        const { id, why } = await this.resolveTarget(fault);
        detail = `SIGSTOP node ${id} (${why}) for ${fault.durationMs} ms`;
        this.log(`fault ${fault.index}: ${detail}`);
        this.cluster.pause(id);
        try {
          await sleep(fault.durationMs);
        } finally {
          this.cluster.resume(id);
        }
        break;
      }
      case 'partition': {
        const ids = this.cluster.nodes.map((n) => n.id);
        const order = shuffled(ids, fault.picks[0]);
        let leader = order[0]!;
        let leaderWhy = '';
        if (fault.shape === 'isolate-leader') {
          const target = await this.resolveTarget({ ...fault, target: fault.target === 'random' ? 'leader' : fault.target });
          leader = target.id;
          leaderWhy = ` (${target.why})`;
        }
        const cut = partitionCut(fault.shape, order, leader, fault.outgoing);
        detail = `partition ${fault.shape}${fault.shape === 'isolate-leader' ? ` node ${leader}${leaderWhy}` : ''}`
          + `${fault.shape === 'one-way' ? ` node ${order[0]} ${fault.outgoing ? 'cannot send' : 'cannot receive'}` : ''}`
          + ` for ${fault.durationMs} ms: cut ${describeCut(cut)}`;
        this.log(`fault ${fault.index}: ${detail}`);
        this.applyCut(cut);
        try {
          await sleep(fault.durationMs);
        } finally {
          this.net.healAll();
        }
        break;
      }
      case 'loss': {
        const { id, why } = await this.resolveTarget(fault);
        const targets = fault.everyNode ? this.cluster.nodes.map((n) => n.id) : [id];
        detail = `${fault.lossPercent}% packet loss on ${fault.everyNode ? 'every node\'s link' : `node ${id}'s link (${why})`} for ${fault.durationMs} ms`;
        this.log(`fault ${fault.index}: ${detail}`);
        for (const t of targets) this.net.apply(t, { ...NO_RULES, lossPercent: fault.lossPercent });
        try {
          await sleep(fault.durationMs);
        } finally {
          this.net.healAll();
        }
        break;
      }
      case 'delay': {
        const { id, why } = await this.resolveTarget(fault);
        const targets = fault.everyNode ? this.cluster.nodes.map((n) => n.id) : [id];
        const shaping = { rateKbit: fault.delayRateKbit, maxDelayMs: fault.delayMaxMs };
        const probed = targets[0]!;
        const baseline = await this.roundTrips(probed, 3, 3 * RTT_SAMPLE_EVERY_MS);
        detail = `delay: ${fault.everyNode ? 'every node\'s link' : `node ${id}'s link (${why})`} shaped to ${shaping.rateKbit} kbit/s each way, `
          + `packets queue up to ${shaping.maxDelayMs} ms, for ${fault.durationMs} ms`;
        this.log(`fault ${fault.index}: ${detail}`);
        let during: number[] = [];
        const stats: ShapingStats[] = [];
        for (const t of targets) this.net.shape(t, shaping);
        try {
          during = await this.roundTrips(probed, 1_000, fault.durationMs);
        } finally {
          for (const t of targets) stats.push(this.net.shapingStats(t));
          this.net.healAll();
        }
        const sum = (k: keyof ShapingStats): number => stats.reduce((n, x) => n + x[k], 0);
        const measured = `Metadata round trips to node ${probed}: ${describeRtts(during)} (before: ${describeRtts(baseline)}); `
          + `tbf: ${(sum('sentBytes') / 1024).toFixed(0)} KiB sent, ${sum('overlimits')} packets over the rate, ${sum('dropped')} dropped`;
        this.log(`fault ${fault.index}: ${measured}`);
        detail += `; ${measured}`;
        break;
      }
      default: {
        const never: never = fault.kind;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
    const key = fault.kind === 'partition' ? `partition/${fault.shape}` : `${fault.kind}/${(fault.kind === 'loss' || fault.kind === 'delay') && fault.everyNode ? 'all' : fault.target}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.faults.push({ kind: fault.kind, detail, startMs, endMs: this.now });
  }

  /**
   * Times Metadata requests to node id (a fresh connection each, so the TCP handshake waits in the queue
   * too), one every RTT_SAMPLE_EVERY_MS for `forMs`, at most `count`; a request unanswered within 5 s
   * counts as 5 s. The delay fault's evidence that the shaping slowed the link.
   */
  private async roundTrips(id: number, count: number, forMs: number): Promise<number[]> {
    const endpoint = this.cluster.node(id).endpoint;
    const until = Date.now() + forMs;
    const out: number[] = [];
    for (let i = 0; i < count && Date.now() < until && !this.aborted; i++) {
      const t0 = Date.now();
      await brokerIds(endpoint).catch(() => []);
      const took = Date.now() - t0;
      out.push(took);
      await sleep(Math.max(0, Math.min(RTT_SAMPLE_EVERY_MS - took, until - Date.now())));
    }
    return out;
  }

  private applyCut(cut: Cut): void {
    const rules = new Map<number, { dropFrom: Set<string>; dropTo: Set<string> }>();
    const of = (id: number): { dropFrom: Set<string>; dropTo: Set<string> } => {
      let r = rules.get(id);
      if (r === undefined) {
        r = { dropFrom: new Set(), dropTo: new Set() };
        rules.set(id, r);
      }
      return r;
    };
    for (const [from, to] of cut) {
      of(from).dropTo.add(nodeAddress(to));
      of(to).dropFrom.add(nodeAddress(from));
    }
    for (const [id, r] of rules) {
      const nodeRules: NodeRules = { dropFrom: r.dropFrom, dropTo: r.dropTo, lossPercent: 0 };
      this.net.apply(id, nodeRules);
    }
  }

  /** Every node running and registered, every partition of the topic led with its full ISR. */
  private async converged(): Promise<string> {
    for (const n of this.cluster.nodes) if (!alive(n)) return `node ${n.id} not running`;
    const registered = await brokerIds(this.cluster.nodes[0]!.endpoint).catch(() => [] as number[]);
    if (registered.length < this.o.nodes) return `registered brokers ${registered.join(',')}`;
    const states = await this.states();
    if (states.length !== this.o.partitions) return 'topic metadata unavailable';
    const bad = states.filter((s) => s.leader < 0 || s.isr.length !== s.replicas.length);
    return bad.length === 0 ? '' : bad.map((s) => `p${s.partition} leader ${s.leader} isr [${s.isr}] of [${s.replicas}]`).join('; ');
  }

  private async waitConverged(what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let why = '';
    for (let attempt = 0; attempt < 100_000 && Date.now() < deadline && !this.aborted; attempt++) {
      why = await this.converged();
      if (why === '') return;
      await sleep(500);
    }
    throw new Error(`${what}: not converged (${why})`);
  }

  private async until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 1_000_000 && Date.now() < deadline && !this.aborted; attempt++) {
      if (done()) return;
      await sleep(200);
    }
    if (!done()) throw new Error(`timed out waiting for ${what}`);
  }

  private async finish(): Promise<boolean> {
    this.log('faults over: healing (rules removed, paused nodes resumed, dead nodes restarted)');
    this.net.healAll();
    for (const n of this.cluster.nodes) this.cluster.resume(n.id);
    for (const n of this.cluster.nodes) {
      if (!alive(n)) await this.restart(n.id).catch((e: unknown) => { this.problems.push(`node ${n.id} restart after healing: ${(e as Error).message.slice(0, 500)}`); });
    }
    const convergedMs = this.now;
    await this.waitConverged('after healing', FINAL_CONVERGE_MS).catch((e: unknown) => { this.problems.push(`cluster did not converge: ${(e as Error).message}`); });
    this.log(`converged ${((this.now - convergedMs) / 1000).toFixed(1)} s after healing; stopping producers`);
    await this.keepWorkloadAlive();
    const produceEndMs = this.now;
    await Promise.all(this.producers.map((p) => p.client.stop()));
    const ends = await this.endOffsets();
    this.log(`end offsets: ${ends.map((e) => `p${e.partition} [${e.logStartOffset}, ${e.highWatermark})`).join(' ')}`);
    // Each group as a whole, and each reader by assignment on its own, must reach every high watermark.
    const readerSets = new Map<string, WorkloadReader[]>();
    for (const c of this.consumers) {
      const key = c.recorder.group ?? `assign:${c.recorder.name}`;
      readerSets.set(key, [...(readerSets.get(key) ?? []), c]);
    }
    await this.until('the readers to consume up to every high watermark', () => [...readerSets.values()].every((set) => ends.every((e) =>
      Math.max(...set.map((c) => c.recorder.next.get(e.partition) ?? 0)) >= e.highWatermark)), 120_000)
      .catch((e: unknown) => this.notes.push(`readers: ${(e as Error).message}; behind: ${[...readerSets].filter(([, set]) => !ends.every((e) =>
        Math.max(...set.map((c) => c.recorder.next.get(e.partition) ?? 0)) >= e.highWatermark)).map(([k]) => k).join(', ')}`));
    await Promise.all(this.consumers.map((c) => c.client.stop()));

    const final = await this.finalRead(ends);
    const identity = await this.byteIdentity();
    const producers = [...this.retiredProducers, ...this.producers].map((p) => p.recorder.history());
    const allReaders = [...this.retiredReaders, ...this.consumers];
    const readers = allReaders.map((c) => c.recorder.history());
    const result = check(producers, readers, final);
    const allAcks = producers.flatMap((p) => p.acks);
    const firstFaultMs = this.faults[0]?.startMs ?? 0;
    const avail = availability(allAcks, this.faults, firstFaultMs, produceEndMs);
    const clients = {
      producers: producers.map((p) => ({ name: p.name, acked: p.acks.length, errors: p.errors, sent: p.sent })),
      readers: allReaders.map((c) => ({ name: c.recorder.name, group: c.recorder.group, read: c.recorder.recordCount, fetchErrors: c.recorder.fetchErrors, fetchErrorExamples: c.recorder.fetchErrorExamples })),
    };
    const report = { options: this.o, replay: replayCommand(this.o), faults: this.faults, counts: Object.fromEntries(this.counts), result, availability: avail, identity, clients, problems: this.problems, notes: this.notes };
    await writeFile(join(this.root, 'report.json'), JSON.stringify(report, null, 2));

    this.log(`faults injected: ${this.faults.length} (${[...this.counts].sort().map(([k, n]) => `${k} ${n}`).join(', ')})`);
    for (const f of avail.perFault) {
      this.log(`  ${(f.fault.startMs / 1000).toFixed(1)}–${(f.fault.endMs / 1000).toFixed(1)} s ${f.fault.detail}: acks/s before ${f.before.toFixed(0)}, during ${f.during.toFixed(0)}, after ${f.after.toFixed(0)}`);
    }
    this.log(`availability: ${avail.acksPerSecondMean.toFixed(1)} acks/s mean over ${avail.seconds} s from the first fault, ${avail.zeroAckSeconds} s without any ack, longest stretch without an ack ${(avail.longestOutageMs / 1000).toFixed(1)} s`);
    this.log(`acks per 5 s: ${avail.windows.join(' ')}`);
    for (const p of producers) this.log(`  ${p.name}: acked ${p.acks.length}, send errors ${p.errors}, sent ${p.sent ?? '?'}`);
    for (const c of allReaders) {
      const r = c.recorder.history();
      const generations = new Set((r.assignments ?? []).map((a) => a.generation));
      this.log(`  ${r.name} (${r.group === null ? 'by assignment' : `group ${r.group}`}): read ${r.records.length}, commits ${r.commits.length}`
        + `${generations.size > 0 ? `, assignments in ${generations.size} generations` : ''}${c.recorder.fetchErrors > 0 ? `, fetch errors ${c.recorder.fetchErrors} (${c.recorder.fetchErrorExamples.join('; ')})` : ''}`);
    }
    this.log(`byte identity below the HW: ${identity.join('; ')}`);
    for (const n of this.notes) this.log(`note: ${n}`);
    for (const a of result.examples) this.log(`ANOMALY ${a.kind}: ${a.detail}`);
    for (const p of this.problems) this.log(`PROBLEM: ${p}`);
    const ok = result.ok && this.problems.length === 0;
    this.log(`checker: ${summaryLine(result)}${this.problems.length > 0 ? `; ${this.problems.length} problem(s)` : ''}`);
    return ok;
  }

  private async endOffsets(): Promise<Array<{ partition: number; logStartOffset: number; highWatermark: number }>> {
    const states = await this.states();
    const out: Array<{ partition: number; logStartOffset: number; highWatermark: number }> = [];
    for (const s of states) {
      const leader = this.cluster.node(s.leader).endpoint;
      out.push({ partition: s.partition, logStartOffset: await listOffset(leader, TOPIC, s.partition, -2n), highWatermark: await listOffset(leader, TOPIC, s.partition, -1n) });
    }
    return out;
  }

  /** A fresh consumer (new group, from the earliest offset) reads every record below the high watermarks. */
  private async finalRead(ends: Array<{ partition: number; logStartOffset: number; highWatermark: number }>): Promise<FinalPartition[]> {
    const total = ends.reduce((n, e) => n + e.highWatermark - e.logStartOffset, 0);
    const reader = startConsumer(this.root, this.cluster.bootstrap, TOPIC, 'final-reader', `chaos-final-${this.o.seed}`, this.startMs, total);
    await this.until('the final read', () => ends.every((e) => (reader.recorder.next.get(e.partition) ?? e.logStartOffset) >= e.highWatermark), 180_000)
      .catch((e: unknown) => this.notes.push(`final read: ${(e as Error).message}`));
    await reader.client.stop();
    const records = reader.recorder.history().records;
    this.log(`final read: ${records.length} records of ${total} below the high watermarks`);
    return ends.map((e) => ({
      ...e,
      records: records.filter((r) => r.partition === e.partition && r.offset < e.highWatermark).map((r) => ({ offset: r.offset, value: r.value })),
    }));
  }

  private async byteIdentity(): Promise<string[]> {
    // The checker reads Runnel's segment layout (<dir>/wal/<topic>/<partition>); Kafka's differs.
    if (this.o.broker !== 'runnel') return ['not checked (Kafka\'s log layout)'];
    const out: string[] = [];
    for (const s of await this.states()) {
      const leader = this.cluster.node(s.leader);
      const hw = await listOffset(leader.endpoint, TOPIC, s.partition, -1n);
      const followers = s.replicas.filter((r) => r !== s.leader).map((r) => ({ nodeId: r, dataDir: this.cluster.node(r).dataDir }));
      const report = await checkByteIdentity(TOPIC, s.partition, hw, { nodeId: leader.id, dataDir: leader.dataDir }, followers);
      if (report.mismatches.length > 0) this.problems.push(`p${s.partition}: replicas differ below HW ${hw}: ${report.mismatches.slice(0, 3).join('; ')}`);
      out.push(`p${s.partition} ${report.mismatches.length === 0 ? 'identical' : 'DIFFERENT'} (${report.comparedBytes} B, HW ${hw})`);
    }
    return out;
  }

  async cleanup(): Promise<void> {
    for (const n of this.cluster.nodes) this.killedByUs.add(n.id);
    for (const c of [...this.producers, ...this.consumers, ...this.retiredProducers, ...this.retiredReaders]) c.client.kill();
    await this.cluster.close();
    this.net.teardown();
  }
}

interface ProducerSpec { readonly kind: ClientKind; readonly idempotent: boolean; readonly base: number }
interface WorkloadProducer extends Producer { readonly spec: ProducerSpec }
/** A reader and how to start another like it (a replacement for one that died gets a new name). */
interface WorkloadReader extends Reader { readonly start: (name: string) => Reader }

function describeRtts(ms: readonly number[]): string {
  if (ms.length === 0) return 'no sample';
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms of ${sorted.length}`;
}

function describeCut(cut: Cut): string {
  const pairs = new Set(cut.map(([a, b]) => `${a}→${b}`));
  const shown: string[] = [];
  for (const [a, b] of cut) {
    if (pairs.has(`${b}→${a}`)) {
      if (a < b) shown.push(`${a}↔${b}`);
    } else {
      shown.push(`${a}→${b}`);
    }
  }
  return shown.join(' ');
}

/**
 * One run at a time per machine: the namespaces, veths and bridge have fixed names, and a run's setup
 * removes leftovers. The lock file holds the owner's pid; a lock whose owner is gone is taken over.
 */
const LOCK = join(tmpdir(), 'runnel-chaos.lock');

function takeLock(): string {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return '';
    } catch {
      const owner = Number(readFileSync(LOCK, 'utf8').trim());
      let ownerAlive = false;
      try {
        process.kill(owner, 0);
        ownerAlive = Number.isInteger(owner) && owner > 0;
      } catch {
        // no such process: a stale lock
      }
      if (ownerAlive) return `another chaos run (pid ${owner}) owns the network (${LOCK})`;
      try { unlinkSync(LOCK); } catch { /* raced with another taker */ }
    }
  }
  return `could not take ${LOCK}`;
}

function releaseLock(): void {
  try {
    if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
  } catch {
    // already gone
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  console.log(`chaos: seed ${o.seed}; replay: ${replayCommand(o)}`);
  const franz = (build: boolean): string => (o.clients.includes('franz') ? franzMissing(build, (line) => console.log(`chaos: ${line}`)) : '');
  const missing = networkMissing() || clientsMissing() || franz(false);
  if (missing !== '') {
    ensureNft((line) => console.log(line));
    const still = networkMissing() || clientsMissing() || franz(true);
    if (still !== '') {
      console.error(`chaos: cannot run: ${still}`);
      return 2;
    }
  }
  const locked = takeLock();
  if (locked !== '') {
    console.error(`chaos: cannot run: ${locked}`);
    return 2;
  }
  const root = await mkdtemp(join(tmpdir(), `runnel-chaos-${o.seed}-`));
  const harness = new Harness(o, root);
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await harness.cleanup();
    releaseLock();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.log(`chaos: ${signal}: cleaning up (processes, namespaces, rules); seed ${o.seed}`);
    harness.abort();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    ok = await harness.run();
  } catch (e) {
    console.error(`chaos: harness error: ${(e as Error).stack ?? String(e)}`);
    for (const n of harness.cluster.nodes) console.error(`node ${n.id} log tail:\n${n.tail.slice(-1500)}`);
  } finally {
    await cleanup();
  }
  if (ok && !o.keep) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  console.log(`chaos: ${ok ? 'PASS' : 'FAIL'} seed ${o.seed}${ok && !o.keep ? '' : `; histories, node logs and report.json in ${root}`}`);
  console.log(`chaos: replay: ${replayCommand(o)}`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
// Everything the run started is stopped by now; a handle some library left open must not keep the exit
// code from CI (unref: this timer alone does not hold the process).
setTimeout(() => process.exit(), 5_000).unref();
