/**
 * DescribeConfigs (API 32), versions 1-4.
 *
 * TOPIC resources: every topic config (or the requested keys; unknown keys are left out) with the value
 * in force, its source (topic override, dynamic broker, dynamic default, static broker, default) and,
 * when asked, its synonyms — Kafka's ConfigHelper rules (src/metadata/topic-configs.ts). Invalid topic
 * name → INVALID_TOPIC_EXCEPTION; unknown topic → UNKNOWN_TOPIC_OR_PARTITION.
 * BROKER resources: this broker's id → every property it knows (src/metadata/broker-configs.ts); ""
 * → what was set dynamically as the cluster default; another id or a non-number → INVALID_REQUEST.
 * GROUP resources (KIP-848): consumer.session.timeout.ms and consumer.heartbeat.interval.ms, from the
 * group (source GROUP_CONFIG) or the broker's group.consumer.* defaults.
 * Other resource types (BROKER_LOGGER, CLIENT_METRICS) → INVALID_REQUEST per resource.
 * v3+ config types; documentation is always null.
 * Not implemented: BROKER_LOGGER (runtime log levels), documentation strings, ACLs.
 */
import {
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsRequestDescribeConfigsResource,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseDescribeConfigsResult,
} from '../../protocol/generated/describe-configs.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { brokerResourceError, ConfigResourceType, GROUP_CONFIG_NAMES, topicNameError } from '../../controller/admin.js';
import { brokerLayersOf } from '../admin-requests.js';
import { describeBrokerConfigs } from '../../metadata/broker-configs.js';
import { configKey } from '../../metadata/image.js';
import { ConfigSource, ConfigTypeId, describeTopicConfigs, type DescribedConfig } from '../../metadata/topic-configs.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 1,
  maxVersion: 4,
  decode: decodeDescribeConfigsRequest,
  encode: encodeDescribeConfigsResponse,
  handle: handleDescribeConfigs,
};

function handleDescribeConfigs(context: RequestContext<DescribeConfigsRequest>): DescribeConfigsResponse {
  return { throttleTimeMs: 0, results: context.request.resources.map((r) => describeOne(context, r)) };
}

function describeOne(
  context: RequestContext<DescribeConfigsRequest>, resource: DescribeConfigsRequestDescribeConfigsResource,
): DescribeConfigsResponseDescribeConfigsResult {
  const { services, request } = context;
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  const failed = (errorCode: number, errorMessage: string | null): DescribeConfigsResponseDescribeConfigsResult =>
    ({ ...base, errorCode, errorMessage, configs: [] });
  const layers = brokerLayersOf(services);
  let described: DescribedConfig[];
  switch (resource.resourceType) {
    case ConfigResourceType.TOPIC: {
      const nameError = topicNameError(resource.resourceName);
      if (nameError !== null) return failed(nameError.errorCode, nameError.message);
      const image = services.metadataLoader.image;
      if (!image.topicIdsByName.has(resource.resourceName)) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
      const overrides = image.configs.get(configKey('topic', resource.resourceName)) ?? new Map<string, string>();
      described = describeTopicConfigs(layers, overrides, resource.configurationKeys, request.includeSynonyms);
      break;
    }
    case ConfigResourceType.BROKER: {
      const error = brokerResourceError(resource.resourceName, services.nodeId);
      if (error !== null) {
        return failed(error.errorCode, `Unexpected broker id, expected ${services.nodeId} or empty string, but received ${resource.resourceName}`);
      }
      described = describeBrokerConfigs(layers, resource.resourceName, resource.configurationKeys, request.includeSynonyms);
      break;
    }
    case ConfigResourceType.GROUP: {
      if (resource.resourceName === '') return failed(ErrorCode.INVALID_REQUEST, 'Group name must not be empty.');
      described = describeGroupConfigs(services, resource.resourceName, resource.configurationKeys);
      break;
    }
    default:
      return failed(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resource.resourceType}`);
  }
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    configs: described.map((c) => ({
      // is_default is v0 only; v1+ carry config_source instead.
      name: c.name, value: c.value, readOnly: c.readOnly, isDefault: false, configSource: c.source,
      isSensitive: c.isSensitive, synonyms: c.synonyms.map((s) => ({ ...s })), configType: c.configType,
      documentation: c.documentation,
    })),
  };
}

/** DescribeConfigsResponse ConfigSource GROUP_CONFIG (KIP-848): a value set on the group itself. */
const GROUP_CONFIG_SOURCE = 8;

/**
 * A GROUP resource (KIP-848): its consumer.session.timeout.ms and consumer.heartbeat.interval.ms, set on
 * the group (GROUP_CONFIG) or else the broker's group.consumer.* value (DEFAULT_CONFIG), as Kafka lists
 * them whether or not the group exists.
 */
function describeGroupConfigs(services: BrokerServices, groupId: string, keys: readonly string[] | null): DescribedConfig[] {
  const overrides = services.metadataLoader.image.configs.get(configKey('group', groupId)) ?? new Map<string, string>();
  const defaults: Record<string, number> = {
    'consumer.session.timeout.ms': services.config['group.consumer.session.timeout.ms'],
    'consumer.heartbeat.interval.ms': services.config['group.consumer.heartbeat.interval.ms'],
  };
  return GROUP_CONFIG_NAMES.filter((name) => keys === null || keys.includes(name)).map((name) => {
    const set = overrides.get(name);
    return {
      name, value: set ?? String(defaults[name]), readOnly: false, isDefault: set === undefined,
      source: set === undefined ? ConfigSource.DEFAULT_CONFIG : GROUP_CONFIG_SOURCE, isSensitive: false, synonyms: [],
      configType: ConfigTypeId.INT, documentation: null,
    };
  });
}
