/**
 * The shape of one API handler (STYLE.md 7, after franz-go kfake's one file per key). A handler owns
 * its codec pair and its version range; registering it is the only thing that makes ApiVersions
 * advertise the API, so nothing is advertised that is not served.
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ConnectionInfo, ResponseMemory } from '../network/connection.js';
import type { RunnelConfig } from '../config/config.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from 'pino';
import type { BrokerMetrics } from './metrics.js';
import type { MetadataView } from './metadata-view.js';
import type { QuorumView } from './quorum-view.js';
import type { MetadataLoader } from '../metadata/loader.js';
import type { LocalReplicaManager } from '../replication/replica-manager.js';
import type { DelayedProducePurgatory } from '../replication/delayed-produce.js';
import type { DelayedFetchPurgatory } from '../replication/delayed-fetch.js';
import type { FetchSessionCache } from '../replication/fetch-session.js';
import type { TopicCreator } from '../controller/topic-creator.js';
import type { GroupCoordinatorRuntime } from '../group/coordinator-runtime.js';
import type { TxnCoordinatorRuntime } from '../txn/runtime.js';
import type { ProducerIdManager } from '../controller/producer-ids.js';
import type { ControllerChannel } from '../controller/requests.js';

export interface RequestHeaderView {
  readonly requestApiKey: number;
  readonly requestApiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** An API and the versions this broker serves, as ApiVersions reports it. */
export interface SupportedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** Long-lived broker state handlers may read. Subsystems add their entry points here as they land. */
export interface BrokerServices {
  readonly nodeId: number;
  readonly config: RunnelConfig;
  readonly clock: Clock;
  readonly metadata: MetadataView;
  /** The metadata quorum as this node sees it (DescribeQuorum, controller id); absent in some tests. */
  readonly quorum: QuorumView | undefined;
  /** The current metadata image (`.image`) and delta subscriptions (`.subscribe`). */
  readonly metadataLoader: MetadataLoader;
  /** Hosted partitions: leadership, epochs, ISR, high watermark, appends (src/replication). */
  readonly replicaManager: LocalReplicaManager;
  /** acks=-1 produces wait here for the high watermark. */
  readonly delayedProduce: DelayedProducePurgatory;
  /** Incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** Fetches waiting for min_bytes park here until data, max_wait_ms or their connection closes. */
  readonly delayedFetch: DelayedFetchPurgatory;
  /** Requests to the active controller (admin changes, topic creation, producer ids, ISR changes). */
  readonly controllerChannel: ControllerChannel;
  readonly topicCreator: TopicCreator;
  /** Classic consumer groups and committed offsets (src/group/coordinator-runtime.ts). */
  readonly groupCoordinator: GroupCoordinatorRuntime;
  /** Transactional ids, their transactions and markers (src/txn/runtime.ts). */
  readonly txnCoordinator: TxnCoordinatorRuntime;
  /** Producer ids for InitProducerId, from blocks committed to the metadata log. */
  readonly producerIds: ProducerIdManager;
  /** Request, topic, storage and connection metrics (src/broker/metrics.ts). */
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
}

export interface RequestContext<Request> {
  readonly header: RequestHeaderView;
  readonly apiVersion: number;
  readonly request: Request;
  readonly connection: ConnectionInfo;
  /** Bounds what this request's answer may hold (Fetch reserves before it reads; DESIGN.md 7). */
  readonly responseMemory: ResponseMemory;
  readonly services: BrokerServices;
  /** Every registered API with its versions (ApiVersions answers with this). */
  readonly supportedApis: readonly SupportedApi[];
}

export interface ApiHandler<Request, Response> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(reader: Reader, version: number): Request;
  encode(writer: Writer, version: number, response: Response): void;
  /** The response body, or null when the protocol sends none (Produce acks=0). */
  handle(context: RequestContext<Request>): Response | null | Promise<Response | null>;
}

/** A handler with its request/response types erased, as the registry stores it. */
export type AnyApiHandler = ApiHandler<any, any>;
