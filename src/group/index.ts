/**
 * Classic consumer groups: the IO-free core of the group coordinator (DESIGN.md §6).
 *
 * The coordinator of a group is the leader of `__consumer_offsets` partition
 * `partitionForGroup(groupId, offsets.topic.num.partitions)` (Java's `Utils.abs(hashCode) % n`, bit for
 * bit). Group metadata and committed offsets are records of that partition, in Kafka's own formats
 * (records.ts), so they replicate and fail over like any data.
 *
 * ## Driving the core
 *
 *   const core = new GroupCoordinatorCore({ clock, prng, config, partitionExists });
 *
 * Ownership of `__consumer_offsets` partitions:
 *   core.beginLoad(p)            became leader: its groups answer COORDINATOR_LOAD_IN_PROGRESS
 *   core.replay(p, records)      feed the partition's records in log order (any number of calls)
 *   core.completeLoad(p)         rebuild groups/offsets (last value wins, tombstones delete); serve
 *   core.load(p, records)        the three at once
 *   core.unload(p)               lost leadership: waiting requests get NOT_COORDINATOR, groups dropped
 * Groups on partitions not owned answer NOT_COORDINATOR.
 *
 * Requests (plain objects, types.ts). APIs that may wait or must persist take a caller-chosen token
 * and answer later through drainOutputs(); the others answer directly:
 *   core.joinGroup(token, req)        delayed until the rebalance completes
 *   core.syncGroup(token, req)        delayed until the leader's assignment is durable
 *   core.offsetCommit(token, req)     delayed until the offset records are durable
 *   core.deleteGroups(token, ids)     delayed until the tombstones are durable
 *   core.offsetDelete(token, req)     delayed until the tombstones are durable
 *   core.heartbeat(req)               → HeartbeatResponse
 *   core.leaveGroup(req)              → LeaveGroupResponse (batched members, KIP-345)
 *   core.offsetFetch(req)             → OffsetFetchResponse (batched groups, require_stable)
 *   core.describeGroups(ids)          → DescribedGroup[]
 *   core.listGroups(req)              → ListGroupsResponse (states and types filters)
 *
 * Outputs and time:
 *   core.drainOutputs()   → CoordinatorOutput[] in order: { kind: 'append', append: { appendId,
 *                           partition, records } } to append to `__consumer_offsets` in that order, and
 *                           { kind: 'response', response: { api, token, body } } to send.
 *   core.completeAppend(appendId, errorCode)   the append is committed (NONE) or failed; responses
 *                           waiting on it are emitted then (persist before send). Every append must be
 *                           completed, including background ones (empty-group and expiry records).
 *   core.tick()           fires due timers (session, rebalance, sync, KIP-394 pending member, offsets
 *                           retention) from the injected Clock; every request does this first too.
 *   core.nextDeadlineMs() when the next timer is due, for a driver that sleeps until then.
 *   core.inspectGroup(id) read-only view for handlers, tests and the simulator.
 *
 * After every call, drain the outputs. No method re-enters the caller, no method awaits, and the same
 * inputs with the same clock and seed give the same outputs.
 *
 * Appends of one partition must be made in emission order (the log is the order). A failed append is
 * reported with the storage's Kafka error code, which the core maps as Kafka does (errors.ts). An
 * undecodable record in replay() throws RecordFormatError: the partition is corrupt, not a client error.
 *
 * FindCoordinator for groups: findGroupCoordinators(keys, n, leaderOf) (find-coordinator.ts), pure.
 *
 * Files: coordinator.ts (request paths, timers, appends), classic-group.ts (one group's state and
 * transitions), persistence.ts + records.ts (`__consumer_offsets` records), responses.ts (bodies and
 * views), consumer-protocol.ts (subscription topics), timers.ts, group-hash.ts, find-coordinator.ts.
 *
 * Not here (next, in the handlers): version folding of the wire requests into these objects (notes
 * on types.ts), creating the compacted internal topic on first use and the leader lookup for
 * FindCoordinator, reading the partition for beginLoad/replay, the append path and its high watermark
 * for completeAppend, and a periodic tick(). Transactional offset commits (TxnOffsetCommit, so
 * require_stable only sees this core's own in-flight commits) and KIP-848 consumer groups are not
 * implemented.
 */
export { GroupCoordinatorCore, type GroupCoordinatorCoreOptions } from './coordinator.js';
export type { GroupView } from './responses.js';
export { partitionForGroup, javaStringHashCode, kafkaAbs } from './group-hash.js';
export { ErrorCode, groupAppendError, offsetAppendError } from './errors.js';
export { findGroupCoordinators, type CoordinatorNode, type FindCoordinatorResult } from './find-coordinator.js';
export * from './records.js';
export * from './types.js';
export {
  CONSUMER_PROTOCOL_TYPE,
  subscriptionTopics,
  encodeSubscription,
  encodeAssignment,
  decodeAssignment,
  type TopicPartitions,
} from './consumer-protocol.js';
