/**
 * Seeded churn of valid metadata record batches for the image snapshot and log compaction tests:
 * brokers registering (with and without incarnation ids), fenced and entering controlled shutdown, topics created with partitions, leaders, ISRs and leader recovery states moving, config
 * overrides set and removed, topics removed, producer id blocks allocated. Deterministic per seed.
 */
import { Prng } from '../../src/common/prng.js';
import type { MetadataImage } from '../../src/metadata/image.js';
import { RECOVERED, RECOVERING, type MetadataRecord } from '../../src/metadata/records.js';

/** Calls `next(image)` for the current image and returns the batch to apply next. */
export function churn(seed: number): (image: MetadataImage) => MetadataRecord[] {
  const prng = new Prng(seed);
  const random = (): number => prng.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  let topics = 0;
  return (image) => {
    const live = [...image.topicsById.values()];
    const brokers = [...image.brokers.values()];
    const roll = random();
    if (brokers.length === 0 || roll < 0.05) {
      const id = brokers.length === 0 ? 1 : pick([1, 2, 3]);
      const current = image.brokers.get(id);
      const incarnation = random() < 0.5 ? {} : { incarnationId: `inc-${id}-${Math.floor(random() * 1000)}` };
      return [{ type: 'RegisterBroker', brokerId: id, brokerEpoch: (current?.brokerEpoch ?? -1) + 1, host: '127.0.0.1', port: 9090 + id, rack: random() < 0.5 ? null : 'r1', fenced: random() < 0.3, ...incarnation }];
    }
    if (roll < 0.1) {
      const b = pick(brokers);
      if (random() < 0.3) return [{ type: 'BrokerRegistrationChange', brokerId: b.brokerId, brokerEpoch: b.brokerEpoch, inControlledShutdown: !b.inControlledShutdown }];
      return [{ type: b.fenced ? 'UnfenceBroker' : 'FenceBroker', brokerId: b.brokerId, brokerEpoch: b.brokerEpoch }];
    }
    if (live.length === 0 || roll < 0.3) {
      const n = ++topics;
      const topicId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      const records: MetadataRecord[] = [{ type: 'Topic', name: `topic-${n}`, topicId }];
      const partitions = 1 + Math.floor(random() * 4);
      for (let p = 0; p < partitions; p++) {
        records.push({ type: 'Partition', topicId, partitionId: p, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1 + (p % 3), leaderEpoch: 0, partitionEpoch: 0 });
      }
      return records;
    }
    const t = pick(live);
    if (roll < 0.55) {
      const p = pick(t.partitions);
      // Now and then a KIP-704 recovery state change (unclean election → RECOVERING, the leader's report → RECOVERED).
      const recovery = random() < 0.2 ? { leaderRecoveryState: random() < 0.5 ? RECOVERING : RECOVERED } : {};
      return [{ type: 'PartitionChange', topicId: t.topicId, partitionId: p.partitionId, leader: pick([1, 2, 3]), isr: random() < 0.5 ? [1, 2] : [1, 2, 3], ...recovery }];
    }
    if (roll < 0.8) {
      const resource = random() < 0.8 ? { resourceType: 'topic' as const, resourceName: t.name } : { resourceType: 'broker' as const, resourceName: random() < 0.5 ? '' : '1' };
      return [{ type: 'Config', ...resource, name: pick(['retention.ms', 'segment.bytes', 'cleanup.policy']), value: random() < 0.25 ? null : String(Math.floor(random() * 1e9)) }];
    }
    if (roll < 0.9) return [{ type: 'RemoveTopic', topicId: t.topicId }];
    return [{ type: 'ProducerIds', brokerId: 1, nextProducerId: image.nextProducerId + 1000 }];
  };
}

/** The image without its offset, for comparing images rebuilt from different logs. */
export function withoutOffset(image: MetadataImage): Omit<MetadataImage, 'offset'> {
  const { offset: _offset, ...rest } = image;
  return rest;
}
