/**
 * Every API handler the broker serves. Adding a handler here is what makes ApiVersions advertise it.
 */
import type { AnyApiHandler } from '../api-handler.js';
import { metadataHandler } from './03-metadata.js';
import { apiVersionsHandler } from './18-api-versions.js';
import { describeClusterHandler } from './60-describe-cluster.js';

export const BUILTIN_HANDLERS: readonly AnyApiHandler[] = [
  metadataHandler,
  apiVersionsHandler,
  describeClusterHandler,
];
