/**
 * Authorized-operations bit fields (KIP-430) for a broker without an authorizer: every operation the
 * resource type supports is allowed, as Kafka reports when no authorizer is configured. Bit n is
 * AclOperation code n: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
 * DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
 */

/** The protocol's "not requested" value for *AuthorizedOperations fields. */
export const authorizedOperationsOmitted = -2147483648;

function bits(...operations: number[]): number {
  return operations.reduce((field, operation) => field | (1 << operation), 0);
}

/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
export const topicAuthorizedOperationsAll = bits(3, 4, 5, 6, 7, 8, 10, 11);

/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
export const clusterAuthorizedOperationsAll = bits(5, 7, 8, 9, 10, 11, 12);
