/**
 * What the admin handlers (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs) share: one AdminController per broker, the broker's config layers, and the
 * request deadline (timeout_ms) they honour.
 */
import type { BrokerServices } from '../broker/api-handler.js';
import { brokerConfigLayers, type BrokerConfigLayers } from '../metadata/topic-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataImage } from '../metadata/image.js';
import { AdminController, AdminQueueFullError, type AdminError, type Plan } from './admin.js';

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const controllers = new WeakMap<BrokerServices, AdminController>();

/** The broker's admin controller (created on first use; one per BrokerServices). */
export function adminControllerFor(services: BrokerServices): AdminController {
  let controller = controllers.get(services);
  if (controller === undefined) {
    controller = new AdminController(services.metadataLog, () => services.metadataLoader.image);
    controllers.set(services, controller);
  }
  return controller;
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
