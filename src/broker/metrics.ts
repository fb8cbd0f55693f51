/**
 * The broker's metrics (DESIGN §7, issue #27), in Prometheus form through prom-client, one registry per
 * broker (an embedding process or an in-process cluster runs several). Names follow Kafka's MBeans
 * (docs/ops.html "Monitoring"), flattened as the Prometheus JMX exporter's usual Kafka rules do:
 * `kafka.network:type=RequestMetrics,name=RequestsPerSec,request=Produce` →
 * `kafka_network_request_metrics_requests_total{request="Produce"}`. A Kafka meter (a rate) is a
 * counter here; Prometheus takes the rate. Times are histograms in seconds and counts of things are
 * plural gauges (Prometheus' naming rules, which `promtool check metrics` enforces), so Kafka's
 * TotalTimeMs is `…_total_time_seconds` and PartitionCount is `…_partitions`. docs/metrics.md lists them.
 *
 * Cost on the request path: two clock reads, one counter and one histogram child looked up by API key
 * in an array, and a walk of the response body for error codes (plain objects and arrays only, never
 * record Buffers, depth-bounded). Per-topic series are created on first use and dropped at scrape
 * time once their topic is gone, so topic churn does not grow the registry.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorName, ErrorCode } from '../protocol/errors.js';

/** What the gauges read at scrape time; the broker wires these to its replica manager, purgatories, … */
export interface MetricsSources {
  /** Partitions hosted here: whether this node leads each, and its ISR and replica counts. */
  partitions(): Iterable<{ readonly isLeader: boolean; readonly isr: readonly number[]; readonly replicas: readonly number[] }>;
  /** Topics that exist now (per-topic series of other topics are dropped). */
  topicExists(topic: string): boolean;
  produceWaiters(): number;
  fetchWaiters(): number;
  connections(): number;
  /** Classic groups by state (Kafka's GroupState names), or undefined while offsets are loading. */
  groupStates(): ReadonlyMap<string, number> | undefined;
}

/** Kafka's classic group states (GroupMetadataManager's NumGroups<State> gauges). */
const GROUP_STATES = ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'] as const;

/** Request latency buckets in s: 0.1 ms (an ApiVersions) to 30 s (a long-polling fetch, a slow fsync). */
const REQUEST_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Flush latency buckets in s: 50 µs to a stalled disk (5 s). */
const FLUSH_SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** Response bodies are a few levels deep (topics → partitions → fields); deeper is not an error code. */
const ERROR_WALK_DEPTH_MAX = 6;

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

interface TopicSeries {
  readonly bytesIn: CounterChild;
  readonly messagesIn: CounterChild;
  readonly bytesOut: CounterChild;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'request'>;
  private readonly errors: Counter<'request' | 'error'>;
  private readonly requestTime: Histogram<'request'>;
  private readonly bytesIn: Counter<'topic'>;
  private readonly messagesIn: Counter<'topic'>;
  private readonly bytesOut: Counter<'topic'>;
  private readonly logFlushTime: Histogram<string>;
  private readonly connectionsCreated: Counter<string>;
  private readonly connectionsClosed: Counter<string>;
  /** By API key: the labelled children, so a request does not hash its labels. */
  private readonly byApiKey: Array<{ requests: CounterChild; time: HistogramChild; name: string } | undefined> = [];
  private readonly byTopic = new Map<string, TopicSeries>();
  private sources: MetricsSources | undefined;

  constructor(options: { readonly nodeId: number; readonly clusterId: string; readonly version: string }) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'kafka_network_request_metrics_requests_total', help: 'Requests received, per API (Kafka RequestMetrics RequestsPerSec).',
      labelNames: ['request'], registers,
    });
    this.errors = new Counter({
      name: 'kafka_network_request_metrics_errors_total',
      help: 'Error codes other than NONE in responses, per API and Kafka error name (Kafka RequestMetrics ErrorsPerSec).',
      labelNames: ['request', 'error'], registers,
    });
    this.requestTime = new Histogram({
      name: 'kafka_network_request_metrics_total_time_seconds',
      help: 'Time from a request frame read to its response ready to send, in seconds, per API (Kafka RequestMetrics TotalTimeMs; includes time parked in purgatory).',
      labelNames: ['request'], buckets: REQUEST_SECONDS_BUCKETS, registers,
    });
    this.bytesIn = new Counter({
      name: 'kafka_server_broker_topic_metrics_bytes_in_total', help: 'Record batch bytes appended by producers, per topic (Kafka BrokerTopicMetrics BytesInPerSec).',
      labelNames: ['topic'], registers,
    });
    this.messagesIn = new Counter({
      name: 'kafka_server_broker_topic_metrics_messages_in_total', help: 'Records appended by producers, per topic (Kafka BrokerTopicMetrics MessagesInPerSec).',
      labelNames: ['topic'], registers,
    });
    this.bytesOut = new Counter({
      name: 'kafka_server_broker_topic_metrics_bytes_out_total', help: 'Record bytes sent to consumers, per topic (Kafka BrokerTopicMetrics BytesOutPerSec).',
      labelNames: ['topic'], registers,
    });
    this.logFlushTime = new Histogram({
      name: 'kafka_log_log_flush_stats_log_flush_time_seconds',
      help: 'Time of each synced log write (O_DSYNC pwritev or pwritev + fdatasync) in fsync mode, in seconds (Kafka LogFlushStats LogFlushRateAndTimeMs).',
      buckets: FLUSH_SECONDS_BUCKETS, registers,
    });
    this.connectionsCreated = new Counter({
      name: 'kafka_server_socket_server_metrics_connection_creation_total', help: 'Client connections accepted (Kafka socket-server-metrics connection-creation-total).', registers,
    });
    this.connectionsClosed = new Counter({
      name: 'kafka_server_socket_server_metrics_connection_close_total', help: 'Client connections closed (Kafka socket-server-metrics connection-close-total).', registers,
    });
    const metrics = this;
    new Gauge({
      name: 'kafka_server_socket_server_metrics_connections', help: 'Client connections open now (Kafka socket-server-metrics connection-count).', registers,
      collect() { this.set(metrics.sources?.connections() ?? 0); },
    });
    new Gauge({
      name: 'kafka_server_replica_manager_partitions', help: 'Partitions hosted on this broker (Kafka ReplicaManager PartitionCount).', registers,
      collect() { this.set(metrics.partitionCounts().partitions); },
    });
    new Gauge({
      name: 'kafka_server_replica_manager_leaders', help: 'Partitions this broker leads (Kafka ReplicaManager LeaderCount).', registers,
      collect() { this.set(metrics.partitionCounts().leaders); },
    });
    new Gauge({
      name: 'kafka_server_replica_manager_under_replicated_partitions',
      help: 'Partitions led here whose ISR is smaller than their replica set (Kafka ReplicaManager UnderReplicatedPartitions).', registers,
      collect() { this.set(metrics.partitionCounts().underReplicated); },
    });
    new Gauge({
      name: 'kafka_server_delayed_operation_purgatory_size', help: 'Requests parked in a purgatory (Kafka DelayedOperationPurgatory PurgatorySize).',
      labelNames: ['delayed_operation'], registers,
      collect() {
        this.set({ delayed_operation: 'Produce' }, metrics.sources?.produceWaiters() ?? 0);
        this.set({ delayed_operation: 'Fetch' }, metrics.sources?.fetchWaiters() ?? 0);
      },
    });
    new Gauge({
      name: 'kafka_coordinator_group_group_metadata_manager_num_groups',
      help: 'Classic consumer groups coordinated here, per state (Kafka GroupMetadataManager NumGroups<State>); absent while offsets load.',
      labelNames: ['state'], registers,
      collect() {
        this.reset();
        const states = metrics.sources?.groupStates();
        if (states === undefined) return;
        for (const state of GROUP_STATES) this.set({ state }, states.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'runnel_broker_info', help: 'Always 1; the labels name this broker.',
      labelNames: ['node_id', 'cluster_id', 'version'], registers,
    }).set({ node_id: String(options.nodeId), cluster_id: options.clusterId, version: options.version }, 1);
    // Node's own: event-loop lag, heap, GC pauses, handles, CPU, RSS (prom-client's defaults).
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` refuses; nodejs_active_handles and
    // nodejs_active_requests, nodejs_active_resources (by type) carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }

  /** Wires the scrape-time gauges; called once the broker's parts exist. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** One request answered (or ending without an answer: `body` null), with its time in ms. */
  requestDone(apiKey: number, name: string, ms: number, body: unknown): void {
    const series = this.apiSeries(apiKey, name);
    series.requests.inc();
    series.time.observe(ms / 1000);
    if (body !== null && typeof body === 'object') this.countErrors(name, body, 0);
  }

  /** A request that closed its connection instead of being answered (bad frame, acks=0 failure). */
  requestFailed(apiKey: number, name: string, ms: number): void {
    const series = this.apiSeries(apiKey, name);
    series.requests.inc();
    series.time.observe(ms / 1000);
  }

  /** A producer's batch appended to a partition of `topic`. */
  produced(topic: string, bytes: number, records: number): void {
    const series = this.topicSeries(topic);
    series.bytesIn.inc(bytes);
    series.messagesIn.inc(records);
  }

  /** Record bytes read for a consumer's fetch of `topic`. */
  fetched(topic: string, bytes: number): void {
    if (bytes > 0) this.topicSeries(topic).bytesOut.inc(bytes);
  }

  logFlushed(ms: number): void {
    this.logFlushTime.observe(ms / 1000);
  }

  connectionOpened(): void {
    this.connectionsCreated.inc();
  }

  connectionClosed(): void {
    this.connectionsClosed.inc();
  }

  /** The exposition text (what `/metrics` serves). */
  async text(): Promise<string> {
    this.dropGoneTopics();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private apiSeries(apiKey: number, name: string): { requests: CounterChild; time: HistogramChild; name: string } {
    let series = this.byApiKey[apiKey];
    if (series === undefined) {
      series = { requests: this.requests.labels({ request: name }), time: this.requestTime.labels({ request: name }), name };
      this.byApiKey[apiKey] = series;
    }
    return series;
  }

  private topicSeries(topic: string): TopicSeries {
    let series = this.byTopic.get(topic);
    if (series === undefined) {
      series = {
        bytesIn: this.bytesIn.labels({ topic }), messagesIn: this.messagesIn.labels({ topic }), bytesOut: this.bytesOut.labels({ topic }),
      };
      this.byTopic.set(topic, series);
    }
    return series;
  }

  private dropGoneTopics(): void {
    const sources = this.sources;
    if (sources === undefined) return;
    for (const topic of this.byTopic.keys()) {
      if (sources.topicExists(topic)) continue;
      this.byTopic.delete(topic);
      for (const counter of [this.bytesIn, this.messagesIn, this.bytesOut]) counter.remove({ topic });
    }
  }

  /** Kafka counts every error code in a response (AbstractResponse.errorCounts); these are its fields. */
  private countErrors(request: string, value: object, depth: number): void {
    if (depth > ERROR_WALK_DEPTH_MAX) return;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object') this.countErrors(request, item as object, depth + 1);
      return;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return; // Buffers, Maps, BigInts' wrappers
    for (const [key, field] of Object.entries(value)) {
      if (key === 'errorCode' && typeof field === 'number') {
        if (field !== ErrorCode.NONE) this.errors.inc({ request, error: errorName(field) });
      } else if (field !== null && typeof field === 'object') {
        this.countErrors(request, field as object, depth + 1);
      }
    }
  }

  private partitionCounts(): { partitions: number; leaders: number; underReplicated: number } {
    let partitions = 0;
    let leaders = 0;
    let underReplicated = 0;
    for (const partition of this.sources?.partitions() ?? []) {
      partitions++;
      if (!partition.isLeader) continue;
      leaders++;
      if (partition.isr.length < partition.replicas.length) underReplicated++;
    }
    return { partitions, leaders, underReplicated };
  }
}
