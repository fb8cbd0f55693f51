/**
 * Every API handler the broker serves. Adding a handler here is what makes ApiVersions advertise it.
 */
import type { AnyApiHandler } from '../api-handler.js';
import { produceHandler } from './00-produce.js';
import { fetchHandler } from './01-fetch.js';
import { listOffsetsHandler } from './02-list-offsets.js';
import { metadataHandler } from './03-metadata.js';
import { apiVersionsHandler } from './18-api-versions.js';
import { createTopicsHandler } from './19-create-topics.js';
import { offsetForLeaderEpochHandler } from './23-offset-for-leader-epoch.js';
import { describeClusterHandler } from './60-describe-cluster.js';

export const BUILTIN_HANDLERS: readonly AnyApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  offsetForLeaderEpochHandler,
  describeClusterHandler,
];
