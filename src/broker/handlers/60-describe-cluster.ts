/**
 * DescribeCluster (API 60, KIP-700), versions 0-2.
 *
 * Cluster id, controller id and brokers from the broker's `MetadataView`; cluster authorized
 * operations (everything, there is no authorizer) when asked for, INT32_MIN otherwise.
 * - v1 (KIP-919) carries an endpoint type: a broker serves BROKER (1) only; CONTROLLER (2) or any
 *   other value gets UNSUPPORTED_ENDPOINT_TYPE, as Kafka's broker answers it.
 * - v2 (KIP-1073): IncludeFencedBrokers lists the registered but fenced brokers too, each with
 *   IsFenced. Without it (and before v2, where the field defaults to false) only unfenced brokers are
 *   listed, as Kafka 4.4's KafkaApis.handleDescribeCluster filters MetadataCache.getBrokerNodes.
 * Not implemented: ACLs.
 */
import {
  decodeDescribeClusterRequest,
  encodeDescribeClusterResponse,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../protocol/generated/describe-cluster.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { authorizedOperationsOmitted, clusterAuthorizedOperationsAll } from './acl-operations.js';

const endpointTypeBroker = 1;

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDescribeClusterRequest,
  encode: encodeDescribeClusterResponse,
  handle: handleDescribeCluster,
};

function handleDescribeCluster(context: RequestContext<DescribeClusterRequest>): DescribeClusterResponse {
  const { request } = context;
  const view = context.services.metadata;
  const base = {
    throttleTimeMs: 0,
    endpointType: request.endpointType,
    clusterId: view.clusterId,
    controllerId: view.controllerId,
  };
  if (request.endpointType !== endpointTypeBroker) {
    return {
      ...base,
      errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: `endpoint type ${request.endpointType} is not served by a broker`,
      brokers: [],
      clusterAuthorizedOperations: authorizedOperationsOmitted,
    };
  }
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    brokers: view.registeredBrokers()
      .filter((b) => !b.fenced || request.includeFencedBrokers)
      .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: b.fenced })),
    clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
      ? clusterAuthorizedOperationsAll
      : authorizedOperationsOmitted,
  };
}
