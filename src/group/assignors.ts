/**
 * Server-side partition assignors of KIP-848 consumer groups (`group.consumer.assignors`, Kafka's default
 * "uniform,range"). Pure functions: members with their subscriptions and current target, topics with
 * their partition counts, in; the new target out. Deterministic (members and topics taken in id order),
 * so a replay or a second coordinator computes the same assignment.
 *
 * - uniform (Kafka's UniformAssignor): every subscribed partition goes to exactly one subscribed member,
 *   the counts differ by at most one among members with the same subscription, and a partition stays with
 *   its current owner whenever that keeps the balance (sticky), so a rebalance moves as few partitions
 *   as it can.
 * - range (Kafka's server-side RangeAssignor): per topic, its subscribers in member-id order take
 *   contiguous ranges, the first (partitions mod members) one more; members subscribed to the same topics
 *   get the same partition numbers of co-partitioned topics, as with the classic range assignor.
 */

export interface AssignorMember {
  readonly memberId: string;
  /** Topic ids the member subscribes to (resolved from names and regular expressions). */
  readonly topicIds: ReadonlySet<string>;
  /** The member's current target assignment: topic id → partitions. */
  readonly current: ReadonlyMap<string, readonly number[]>;
}

export interface AssignorTopic {
  readonly topicId: string;
  readonly partitions: number;
}

export type Assignment = Map<string, Map<string, number[]>>;

export const ASSIGNOR_NAMES = ['uniform', 'range'] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];

export function isAssignorName(name: string): name is AssignorName {
  return (ASSIGNOR_NAMES as readonly string[]).includes(name);
}

export function assign(name: AssignorName, members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Assignment {
  return name === 'range' ? rangeAssign(members, topics) : uniformAssign(members, topics);
}

const byId = <T extends { memberId: string }>(a: T, b: T): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function emptyAssignment(members: readonly AssignorMember[]): Assignment {
  return new Map(members.map((m) => [m.memberId, new Map<string, number[]>()]));
}

function add(assignment: Assignment, memberId: string, topicId: string, partition: number): void {
  const topics = assignment.get(memberId)!;
  const list = topics.get(topicId);
  if (list === undefined) topics.set(topicId, [partition]);
  else list.push(partition);
}

function sortAssignment(assignment: Assignment): Assignment {
  for (const topics of assignment.values()) {
    for (const [topicId, partitions] of topics) {
      if (partitions.length === 0) topics.delete(topicId);
      else partitions.sort((a, b) => a - b);
    }
  }
  return assignment;
}

function rangeAssign(members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Assignment {
  const assignment = emptyAssignment(members);
  const sorted = [...members].sort(byId);
  for (const topic of [...topics].sort((a, b) => compareStrings(a.topicId, b.topicId))) {
    const subscribers = sorted.filter((m) => m.topicIds.has(topic.topicId));
    if (subscribers.length === 0) continue;
    const base = Math.floor(topic.partitions / subscribers.length);
    const extra = topic.partitions % subscribers.length;
    let next = 0;
    subscribers.forEach((member, i) => {
      const count = base + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) add(assignment, member.memberId, topic.topicId, next++);
    });
  }
  return sortAssignment(assignment);
}

interface Slot {
  readonly topicId: string;
  readonly partition: number;
}

function uniformAssign(members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Assignment {
  const assignment = emptyAssignment(members);
  const sorted = [...members].sort(byId);
  const load = new Map(sorted.map((m) => [m.memberId, 0]));
  const subscribers = new Map<string, AssignorMember[]>();
  for (const topic of topics) subscribers.set(topic.topicId, sorted.filter((m) => m.topicIds.has(topic.topicId)));
  const slots: Slot[] = [];
  for (const topic of [...topics].sort((a, b) => compareStrings(a.topicId, b.topicId))) {
    if ((subscribers.get(topic.topicId) ?? []).length === 0) continue;
    for (let p = 0; p < topic.partitions; p++) slots.push({ topicId: topic.topicId, partition: p });
  }
  // A fair share for a member: partitions it can take divided among everyone who can take them too
  // (exact for the usual homogeneous group, a bound otherwise).
  const cap = new Map<string, number>();
  for (const m of sorted) {
    const reachable = slots.filter((s) => m.topicIds.has(s.topicId));
    const competitors = new Set<string>();
    for (const s of reachable) for (const other of subscribers.get(s.topicId) ?? []) competitors.add(other.memberId);
    cap.set(m.memberId, competitors.size === 0 ? 0 : Math.ceil(reachable.length / competitors.size));
  }
  const owner = new Map<string, string>();
  for (const m of sorted) {
    for (const [topicId, partitions] of m.current) for (const p of partitions) owner.set(`${topicId}:${p}`, m.memberId);
  }
  const unassigned: Slot[] = [];
  // Sticky pass: a partition stays with its current owner while the owner is under its share.
  for (const slot of slots) {
    const current = owner.get(`${slot.topicId}:${slot.partition}`);
    const member = current === undefined ? undefined : sorted.find((m) => m.memberId === current);
    if (member !== undefined && member.topicIds.has(slot.topicId) && load.get(member.memberId)! < cap.get(member.memberId)!) {
      add(assignment, member.memberId, slot.topicId, slot.partition);
      load.set(member.memberId, load.get(member.memberId)! + 1);
    } else {
      unassigned.push(slot);
    }
  }
  // The rest go to the least-loaded subscriber, ties by member id.
  for (const slot of unassigned) {
    let best: AssignorMember | undefined;
    for (const m of subscribers.get(slot.topicId) ?? []) {
      if (best === undefined || load.get(m.memberId)! < load.get(best.memberId)!) best = m;
    }
    if (best === undefined) continue;
    add(assignment, best.memberId, slot.topicId, slot.partition);
    load.set(best.memberId, load.get(best.memberId)! + 1);
  }
  rebalance(assignment, sorted, load, slots.length);
  return sortAssignment(assignment);
}

/**
 * Moves one partition at a time from a member with two or more partitions more than another member that
 * could take it, until no such pair is left: counts then differ by at most one between members that
 * could trade. Each move lowers the sum of squared loads, so it ends; `slots` squared bounds it anyway.
 */
function rebalance(assignment: Assignment, members: readonly AssignorMember[], load: Map<string, number>, slots: number): void {
  for (let moves = 0; moves < slots * slots + 1; moves++) {
    let moved = false;
    const byLoad = [...members].sort((a, b) => load.get(b.memberId)! - load.get(a.memberId)! || byId(a, b));
    for (const from of byLoad) {
      for (const to of [...byLoad].reverse()) {
        if (load.get(from.memberId)! <= load.get(to.memberId)! + 1) break;
        const topics = assignment.get(from.memberId)!;
        const topicId = [...topics.keys()].sort(compareStrings).find((t) => to.topicIds.has(t) && (topics.get(t)?.length ?? 0) > 0);
        if (topicId === undefined) continue;
        const partitions = topics.get(topicId)!;
        partitions.sort((a, b) => a - b);
        const partition = partitions.pop()!;
        add(assignment, to.memberId, topicId, partition);
        load.set(from.memberId, load.get(from.memberId)! - 1);
        load.set(to.memberId, load.get(to.memberId)! + 1);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) return;
  }
}
