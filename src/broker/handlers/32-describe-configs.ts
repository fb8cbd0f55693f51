/**
 * DescribeConfigs (API 32), versions 1-4.
 *
 * TOPIC resources: every topic config (or the requested keys; unknown keys are left out) with the value
 * in force, its source (topic override, dynamic broker, dynamic default, static broker, default) and,
 * when asked, its synonyms — Kafka's ConfigHelper rules (src/metadata/topic-configs.ts). Invalid topic
 * name → INVALID_TOPIC_EXCEPTION; unknown topic → UNKNOWN_TOPIC_OR_PARTITION.
 * BROKER resources: this broker's id → every property it knows (src/metadata/broker-configs.ts); ""
 * → what was set dynamically as the cluster default; another id or a non-number → INVALID_REQUEST.
 * Other resource types (BROKER_LOGGER, CLIENT_METRICS, GROUP) → INVALID_REQUEST per resource.
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
import { brokerResourceError, ConfigResourceType, topicNameError } from '../../controller/admin.js';
import { brokerLayersOf } from '../admin-requests.js';
import { describeBrokerConfigs } from '../../metadata/broker-configs.js';
import { configKey } from '../../metadata/image.js';
import { describeTopicConfigs, type DescribedConfig } from '../../metadata/topic-configs.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

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
