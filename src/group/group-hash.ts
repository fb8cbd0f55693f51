import { invariant } from '../common/assert.js';

/**
 * The `__consumer_offsets` partition that owns a group: Kafka's
 * `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`. Java clients and tools compute the same
 * value, so it must match Java bit for bit: String.hashCode runs over UTF-16 code units with int32
 * wrap-around, and Kafka's Utils.abs maps Integer.MIN_VALUE to 0 (Math.abs would leave it negative).
 */
export function partitionForGroup(groupId: string, numPartitions: number): number {
  invariant(Number.isInteger(numPartitions) && numPartitions > 0, `numPartitions ${numPartitions}`);
  return kafkaAbs(javaStringHashCode(groupId)) % numPartitions;
}

export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

/**
 * org.apache.kafka.common.utils.Utils.abs: Math.abs except Integer.MIN_VALUE maps to 0. Not
 * Utils.toPositive (`n & 0x7fffffff`, the producer's partitioner), which differs for every negative n.
 */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n | 0);
}
