/**
 * What the admin handlers (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs) share: one AdminController per broker, the broker's config layers, and the
 * request deadline (timeout_ms) they honour.
 */
import type { BrokerServices } from '../broker/api-handler.js';
import { brokerConfigLayers, type BrokerConfigLayers } from '../metadata/topic-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataImage } from '../metadata/image.js';
import {
  AdminController, AdminQueueFullError, planAlterConfigs,
  type AdminError, type AlterableConfig, type ConfigResourceInput, type Plan,
} from './admin.js';

/** The broker's admin controller: the one serial writer of the metadata log (see Broker.start). */
export function adminControllerFor(services: BrokerServices): AdminController {
  return services.controller;
}

export function brokerLayersOf(services: BrokerServices): BrokerConfigLayers {
  return brokerConfigLayers(services.config, services.metadataLoader.image, services.nodeId);
}

export const TIMED_OUT = Symbol('timed out');

/**
 * Waits for `work` at most `timeoutMs` (≤ 0: no bound, as Kafka's controller treats a non-positive
 * request timeout). The work itself is not cancelled: a topic may still be created after the answer,
 * as with Kafka.
 */
export async function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T | typeof TIMED_OUT> {
  if (timeoutMs <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kafka's answer when the controller could not run an operation (queue full, log failure, deadline). */
export function operationError(outcome: unknown, throttlingKnown: boolean): AdminError {
  if (outcome === TIMED_OUT) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, message: 'Timed out waiting for the controller.' };
  if (outcome instanceof AdminQueueFullError) {
    return throttlingKnown
      ? { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, message: outcome.message }
      : { errorCode: ErrorCode.REQUEST_TIMED_OUT, message: outcome.message };
  }
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: `metadata log: ${(outcome as Error).message}` };
}

/** Runs one plan through the broker's controller within the deadline; failures become Kafka errors. */
export async function runPlan<T>(
  services: BrokerServices,
  plan: (image: MetadataImage) => Plan<T>,
  options: { validateOnly: boolean; timeoutMs: number; throttlingKnown: boolean },
): Promise<Plan<T>> {
  try {
    const outcome = await withDeadline(adminControllerFor(services).run(plan, options.validateOnly), options.timeoutMs);
    if (outcome !== TIMED_OUT) return outcome;
    return { ok: false, ...operationError(TIMED_OUT, options.throttlingKnown) };
  } catch (error) {
    return { ok: false, ...operationError(error, options.throttlingKnown) };
  }
}

/** Config changes carry no timeout field; the controller answers well within this. */
const CONFIG_CHANGE_TIMEOUT_MS = 30_000;

export interface ConfigChangeResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
}

/**
 * AlterConfigs ('replace') and IncrementalAlterConfigs ('incremental'): each resource is one atomic
 * metadata batch; a resource named twice in one request is refused (INVALID_REQUEST) for each mention.
 */
export async function alterConfigResources(
  services: BrokerServices,
  resources: readonly (ConfigResourceInput & { readonly configs: readonly AlterableConfig[] })[],
  validateOnly: boolean,
  mode: 'incremental' | 'replace',
): Promise<ConfigChangeResult[]> {
  const keyOf = (r: ConfigResourceInput): string => `${r.resourceType}:${r.resourceName}`;
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
  return Promise.all(resources.map(async (resource) => {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if ((counts.get(keyOf(resource)) ?? 0) > 1) {
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate resource.' };
    }
    const planned = await runPlan(
      services,
      (image) => planAlterConfigs(image, services.nodeId, resource, resource.configs, mode),
      { validateOnly, timeoutMs: CONFIG_CHANGE_TIMEOUT_MS, throttlingKnown: false },
    );
    return planned.ok
      ? { ...base, errorCode: ErrorCode.NONE, errorMessage: null }
      : { ...base, errorCode: planned.errorCode, errorMessage: planned.message };
  }));
}
