/**
 * The chaos suite's fault schedule (issue #23), decided by one seed: which fault comes next, whom it
 * targets (a random node, a partition's leader, the active controller), how long it lasts, and the pause
 * after it heals. Targets that depend on the cluster's state (leader, controller) are resolved when the
 * fault starts; every random choice is drawn here, so a seed replays the same schedule. Also the shapes of
 * network partitions as per-node drop rules (pure, unit-tested).
 */
import { prng } from '../faults/standalone-broker.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'loss', 'delay'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type Target = 'random' | 'leader' | 'controller';
export const PARTITION_SHAPES = ['isolate-leader', 'majority-minority', 'bridge', 'one-way'] as const;
export type PartitionShape = (typeof PARTITION_SHAPES)[number];

export interface PlannedFault {
  readonly index: number;
  readonly kind: FaultKind;
  /** kill / pause / loss: whose process or link. */
  readonly target: Target;
  /** partition only. */
  readonly shape: PartitionShape;
  /** How long the fault holds: a killed node stays down, a paused one stopped, a partition or loss in force. */
  readonly durationMs: number;
  /** Pause after the cluster converged again, before the next fault. */
  readonly gapMs: number;
  /** loss only. */
  readonly lossPercent: number;
  /** loss and delay: every node's link instead of one. */
  readonly everyNode: boolean;
  /** delay only: the link's rate (kbit/s) and the longest a packet may queue before it is dropped (ms). */
  readonly delayRateKbit: number;
  readonly delayMaxMs: number;
  /** one-way only: the node's outgoing packets are dropped (else its incoming ones). */
  readonly outgoing: boolean;
  /** Uniform draws in [0, 1) for the choices made when the fault starts (which node, which partition). */
  readonly picks: readonly [number, number, number];
}

export interface Timeouts {
  /** broker.session.timeout.ms */
  readonly sessionTimeoutMs: number;
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: number;
}

export const SCHEDULE_LENGTH_MAX = 10_000;

export function planFaults(seed: number, kinds: readonly FaultKind[], count: number, timeouts: Timeouts): PlannedFault[] {
  if (kinds.length === 0) throw new Error('no fault kinds');
  const random = prng(seed);
  const between = (low: number, high: number): number => Math.floor(low + (high - low) * random());
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // A pause outlasts both timeouts (a long GC pause: the node is fenced and drops out of the ISRs).
  const pauseMinMs = Math.max(timeouts.sessionTimeoutMs, timeouts.replicaLagTimeMaxMs) + 3_000;
  const faults: PlannedFault[] = [];
  for (let index = 0; index < Math.min(count, SCHEDULE_LENGTH_MAX); index++) {
    const kind = pick(kinds);
    const durationMs = kind === 'kill' ? between(0, 8_000)
      : kind === 'pause' ? between(pauseMinMs, pauseMinMs + 8_000)
        : between(10_000, 25_000);
    const target = pick(['random', 'leader', 'controller'] as const);
    const shape = pick(PARTITION_SHAPES);
    const gapMs = between(2_000, 8_000);
    const lossPercent = between(5, 31);
    const everyNode = random() < 0.3;
    const outgoing = random() < 0.5;
    const picks = [random(), random(), random()] as const;
    // The delay's parameters come from a generator of their own (seeded by the third pick), not from the
    // schedule's: the schedules of seeds recorded before delay existed replay unchanged.
    const own = prng(Math.floor(picks[2] * 0xffffffff) ^ 0x5eed);
    const delayRateKbit = Math.round(64 * 8 ** own()); // 64..512 kbit/s, log-uniform
    const delayMaxMs = Math.round(200 + 1_800 * own()); // 200..2000 ms
    faults.push({ index, kind, durationMs, target, shape, gapMs, lossPercent, everyNode, outgoing, delayRateKbit, delayMaxMs, picks });
  }
  return faults;
}

/** Node ids in an order decided by a pick in [0, 1) (a Fisher–Yates shuffle driven by a PRNG seeded with it). */
export function shuffled(ids: readonly number[], pick: number): number[] {
  const random = prng(Math.floor(pick * 0xffffffff));
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Directed links cut: [from, to] means packets from `from` to `to` are dropped. */
export type Cut = ReadonlyArray<readonly [number, number]>;

const both = (a: readonly number[], b: readonly number[]): Array<[number, number]> =>
  a.flatMap((x) => b.flatMap((y): Array<[number, number]> => [[x, y], [y, x]]));

/**
 * The links a partition shape cuts. `leader` is the node isolate-leader cuts off (the caller resolves a
 * partition's leader); `order` is the nodes shuffled by the fault's pick.
 * - isolate-leader: the leader alone on one side;
 * - majority-minority: the first ⌊(n-1)/2⌋ nodes of `order` on one side, the rest (a majority) on the other;
 * - bridge: order[0] reaches everyone; the others split in two halves that cannot reach each other;
 * - one-way: order[0]'s packets to every other node are dropped (outgoing) or theirs to it (incoming).
 */
export function partitionCut(shape: PartitionShape, order: readonly number[], leader: number, outgoing: boolean): Cut {
  const others = (x: number): number[] => order.filter((y) => y !== x);
  switch (shape) {
    case 'isolate-leader':
      return both([leader], others(leader));
    case 'majority-minority': {
      const minority = order.slice(0, Math.max(1, Math.floor((order.length - 1) / 2)));
      return both(minority, order.filter((x) => !minority.includes(x)));
    }
    case 'bridge': {
      const rest = order.slice(1);
      const half = Math.ceil(rest.length / 2);
      return both(rest.slice(0, half), rest.slice(half));
    }
    case 'one-way': {
      const node = order[0]!;
      return others(node).map((y): [number, number] => (outgoing ? [node, y] : [y, node]));
    }
    default: {
      const never: never = shape;
      throw new Error(`unknown shape ${String(never)}`);
    }
  }
}
