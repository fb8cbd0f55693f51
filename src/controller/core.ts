/**
 * The controller's decisions, free of IO (DESIGN §5, STYLE.md 1): a request and the latest committed
 * metadata image in, the records to propose (one atomic batch) and the answer to send once they are
 * committed out. Time comes in as `nowMs`; the shell (quorum-controller.ts) owns the queue, the
 * metadata log writer and the timers. Only the active controller runs one, and it runs requests one at
 * a time, each against the image that holds every earlier decision.
 *
 * Broker session state (last heartbeat per broker) is the active controller's memory, not metadata, as
 * in KRaft's BrokerHeartbeatManager: a newly active controller restarts every session at activation.
 */
import type { RunnelConfig } from '../config/config.js';
import { topicByName, type MetadataImage, type TopicImage } from '../metadata/image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  brokerPartitionsError, planAlterConfigs, planCreatePartitions, planCreateTopic, planDeleteTopic, type Plan,
} from './admin.js';
import { randomTopicId, TopicCreationError, topicCreationRecords } from './topic-records.js';
import { planProducerIdBlock, PRODUCER_ID_BLOCK_SIZE } from './producer-ids.js';
import type {
  ControllerOutcomeOf, ControllerRequest, ControllerRequestOf, ControllerRequestType,
} from './requests.js';

export interface ControllerDecision<K extends ControllerRequestType = ControllerRequestType> {
  readonly records: readonly MetadataRecord[];
  readonly outcome: ControllerOutcomeOf<K>;
}

export interface ControllerCoreOptions {
  readonly config: RunnelConfig;
  /** Topic ids are random; tests and the simulator inject a seeded source. */
  readonly newTopicId?: () => string;
}

export class ControllerCore {
  private readonly newTopicId: () => string;

  constructor(private readonly options: ControllerCoreOptions) {
    this.newTopicId = options.newTopicId ?? randomTopicId;
  }

  /** This node became the active controller at `nowMs`. */
  activate(_image: MetadataImage, _nowMs: number): void {}

  /** Periodic work (fencing expired sessions, preferred-leader rebalance): records to propose, or none. */
  tick(_image: MetadataImage, _nowMs: number): MetadataRecord[] {
    return [];
  }

  handle<K extends ControllerRequestType>(request: ControllerRequestOf<K>, image: MetadataImage, nowMs: number): ControllerDecision<K> {
    return this.dispatch(request as ControllerRequest, image, nowMs) as ControllerDecision<K>;
  }

  private dispatch(request: ControllerRequest, image: MetadataImage, _nowMs: number): ControllerDecision {
    switch (request.type) {
      case 'createTopic': {
        const planned = planCreateTopic(image, this.options.config, request.topic, this.newTopicId());
        return decide(planned, request.validateOnly, (v) => ({
          topicId: v.topicId, numPartitions: v.numPartitions, replicationFactor: v.replicationFactor, overrides: [...v.overrides],
        }));
      }
      case 'autoCreateTopic':
        return decide(planAutoCreate(image, request, this.newTopicId(), this.options.config['max.broker.partitions']), false, (topicId) => ({ topicId }));
      case 'deleteTopic': {
        const topic = request.name !== null ? topicByName(image, request.name) : image.topicsById.get(request.topicId ?? '');
        if (topic === undefined) {
          return request.name !== null
            ? failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
            : failed(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
        }
        return decide(planDeleteTopic(topic), false, (t: TopicImage) => ({ name: t.name, topicId: t.topicId }));
      }
      case 'createPartitions':
        return decide(planCreatePartitions(image, request.input, this.options.config['max.broker.partitions']), request.validateOnly, (count) => ({ count }));
      case 'alterConfigs':
        return decide(
          planAlterConfigs(image, request.nodeId, request.resource, request.configs, request.mode), request.validateOnly, () => null,
        );
      case 'allocateProducerIds':
        return decide(planProducerIdBlock(image, request.brokerId), false, (producerIdStart) => ({
          producerIdStart, producerIdLen: PRODUCER_ID_BLOCK_SIZE,
        }));
      case 'registerBroker': {
        const current = image.brokers.get(request.brokerId);
        const brokerEpoch = (current?.brokerEpoch ?? -1) + 1;
        return {
          records: [{
            type: 'RegisterBroker', brokerId: request.brokerId, brokerEpoch,
            host: request.host, port: request.port, rack: request.rack, fenced: false,
          }],
          outcome: { ok: true, value: { brokerEpoch } },
        };
      }
      case 'brokerHeartbeat':
        return { records: [], outcome: { ok: true, value: { isCaughtUp: true, isFenced: false, shouldShutDown: request.wantShutDown } } };
      case 'alterPartition':
      case 'electLeaders':
        return failed(ErrorCode.UNSUPPORTED_VERSION, `${request.type} is not implemented yet`);
      default: {
        const never: never = request;
        throw new Error(`unknown controller request ${JSON.stringify(never)}`);
      }
    }
  }
}

function decide<T, V>(planned: Plan<T>, validateOnly: boolean, value: (v: T) => V): ControllerDecision {
  if (!planned.ok) return failed(planned.errorCode, planned.message);
  return {
    records: validateOnly ? [] : planned.records,
    outcome: { ok: true, value: value(planned.value) },
  } as ControllerDecision;
}

function failed(errorCode: number, message: string | null): ControllerDecision {
  return { records: [], outcome: { ok: false, errorCode, message } };
}

function planAutoCreate(
  image: MetadataImage,
  request: ControllerRequestOf<'autoCreateTopic'>,
  topicId: string,
  brokerPartitionsMax: number,
): Plan<string> {
  if (image.topicIdsByName.has(request.name)) {
    return { ok: false, errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${request.name}' already exists.` };
  }
  const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
  try {
    const records = topicCreationRecords(
      request.name, topicId, request.numPartitions, request.replicationFactor, liveBrokers, new Map(request.configs),
    );
    const placed = records.flatMap((r) => (r.type === 'Partition' ? [r.replicas] : []));
    const limitError = brokerPartitionsError(image, brokerPartitionsMax, placed);
    if (limitError !== null) return { ok: false, ...limitError };
    return { ok: true, records, value: topicId };
  } catch (err) {
    if (err instanceof TopicCreationError) return { ok: false, errorCode: err.errorCode, message: err.message };
    throw err;
  }
}
