/**
 * Replica placement for new topics and partitions: balanced leaders and replicas, rack-aware when brokers
 * have racks, the first replica the preferred leader. Pure and deterministic.
 *
 * The shape is Kafka's AdminUtils assignment (assignReplicasToBrokersRackUnaware / RackAware), which
 * KRaft's StripedReplicaPlacer keeps in spirit: brokers are laid out rack by rack alternately ("striped"),
 * partition p's leader is the (start + p)-th broker of that list, so leaders rotate over every broker
 * (12 partitions on 3 brokers: 4 each); followers follow at a shift that grows each time the leaders
 * wrap around, so follower pairs spread too; with racks, a follower is taken from a rack that holds no
 * replica of the partition yet while one exists. Kafka picks the start at random; here it is the
 * broker leading the fewest partitions, so successive topics fill in the lightest brokers and a seed
 * replays exactly.
 */
import type { MetadataImage } from '../metadata/image.js';

export interface PlacementBroker {
  readonly id: number;
  readonly rack: string | null;
}

/** Brokers that may take new replicas: registered, unfenced, not in controlled shutdown (Kafka's usable brokers). */
export function usableBrokers(image: MetadataImage): PlacementBroker[] {
  return [...image.brokers.values()]
    .filter((b) => !b.fenced && !b.inControlledShutdown)
    .map((b) => ({ id: b.brokerId, rack: b.rack }))
    .sort((a, b) => a.id - b.id);
}

/** AdminUtils.getRackAlternatedBrokerList: racks in name order, one broker of each in turn (no rack = one rack). */
export function stripedBrokerList(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const key = b.rack ?? '';
    const list = byRack.get(key) ?? [];
    list.push(b);
    byRack.set(key, list);
  }
  const racks = [...byRack.keys()].sort();
  const striped: PlacementBroker[] = [];
  for (let round = 0; striped.length < brokers.length; round++) {
    for (const rack of racks) {
      const b = byRack.get(rack)![round];
      if (b !== undefined) striped.push(b);
    }
  }
  return striped;
}

/**
 * Replica lists for partitions firstPartitionId .. firstPartitionId + count - 1 over `brokers`
 * (replicationFactor ≤ brokers.length, checked by the caller). `start` picks the first leader.
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[], count: number, replicationFactor: number, start = 0, firstPartitionId = 0,
): number[][] {
  const list = stripedBrokerList(brokers);
  const n = list.length;
  const racks = new Set(list.map((b) => b.rack ?? ''));
  const rackAware = racks.size > 1;
  const result: number[][] = [];
  for (let i = 0; i < count; i++) {
    // The leaders rotate from `start`; the follower shift moves on each time they wrap (AdminUtils' nextReplicaShift).
    const p = firstPartitionId + i;
    const first = (start + p) % n;
    const shift = n > 1 ? Math.floor(p / n) % (n - 1) : 0;
    const replicas = [list[first]!.id];
    if (rackAware) {
      const usedRacks = new Set([list[first]!.rack ?? '']);
      const used = new Set([list[first]!.id]);
      for (let k = 0; replicas.length < replicationFactor && k < n * n; k++) {
        const b = list[followerIndex(first, shift * racks.size, k, n)]!;
        const rack = b.rack ?? '';
        if ((usedRacks.has(rack) && usedRacks.size < racks.size) || used.has(b.id)) continue;
        replicas.push(b.id);
        usedRacks.add(rack);
        used.add(b.id);
      }
    } else {
      for (let k = 0; k < replicationFactor - 1; k++) replicas.push(list[followerIndex(first, shift, k, n)]!.id);
    }
    result.push(replicas);
  }
  return result;
}

/** AdminUtils.replicaIndex: never the leader's own index. */
function followerIndex(first: number, shift: number, k: number, n: number): number {
  if (n === 1) return first;
  const offset = 1 + ((shift + k) % (n - 1));
  return (first + offset) % n;
}

/**
 * Where the leaders of a new topic start: the usable broker leading the fewest partitions now (ties:
 * the earliest in the striped list), so leaderships even out across topics.
 */
export function placementStart(image: MetadataImage, brokers: readonly PlacementBroker[]): number {
  const list = stripedBrokerList(brokers);
  const leaders = new Map<number, number>(list.map((b) => [b.id, 0]));
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions) {
      const n = leaders.get(p.replicas[0] ?? -1);
      if (n !== undefined) leaders.set(p.replicas[0]!, n + 1);
    }
  }
  let best = 0;
  for (let i = 1; i < list.length; i++) {
    if (leaders.get(list[i]!.id)! < leaders.get(list[best]!.id)!) best = i;
  }
  return best;
}

/** Placement of `count` new partitions of a topic in `image`, from partition `firstPartitionId` on. */
export function placeInImage(image: MetadataImage, count: number, replicationFactor: number, firstPartitionId = 0): number[][] {
  const brokers = usableBrokers(image);
  const start = placementStart(image, brokers);
  // Partition ids continue the topic's rotation; the start rotates it so the lightest broker leads the first new one.
  return placeReplicas(brokers, count, replicationFactor, (start - (firstPartitionId % brokers.length) + brokers.length) % brokers.length, firstPartitionId);
}
