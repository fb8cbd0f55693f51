/**
 * What the admin handlers (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs) share: requests to the active controller through the broker's controller
 * channel, the broker's config layers, and the request deadline (timeout_ms) they honour.
 */
import type { BrokerServices } from './api-handler.js';
import { brokerConfigLayers, type BrokerConfigLayers } from '../metadata/topic-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type { AlterableConfig, ConfigResourceInput } from '../controller/admin.js';
import type { ControllerOutcomeOf, ControllerRequestOf, ControllerRequestType } from '../controller/requests.js';

export function brokerLayersOf(services: BrokerServices): BrokerConfigLayers {
  return brokerConfigLayers(services.config, services.metadataLoader.image, services.nodeId);
}

/**
 * Sends one request to the active controller within the deadline (≤ 0: no bound, as Kafka's controller
 * treats a non-positive request timeout). The work itself is not cancelled at the deadline: a topic may
 * still be created after the answer, as with Kafka. THROTTLING_QUOTA_EXCEEDED (the controller's queue is
 * full) becomes REQUEST_TIMED_OUT for request versions that predate KIP-599.
 */
export async function sendToController<K extends ControllerRequestType>(
  services: BrokerServices,
  request: ControllerRequestOf<K>,
  options: { timeoutMs: number; throttlingKnown: boolean },
): Promise<ControllerOutcomeOf<K>> {
  const outcome = await services.controllerChannel.send(request, options.timeoutMs);
  if (!outcome.ok && outcome.errorCode === ErrorCode.THROTTLING_QUOTA_EXCEEDED && !options.throttlingKnown) {
    return { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: outcome.message };
  }
  return outcome;
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
    const outcome = await sendToController(services, {
      type: 'alterConfigs',
      resource: { resourceType: resource.resourceType, resourceName: resource.resourceName },
      configs: resource.configs.map((c) => ({ name: c.name, value: c.value, configOperation: c.configOperation })),
      mode, validateOnly, nodeId: services.nodeId,
    }, { timeoutMs: CONFIG_CHANGE_TIMEOUT_MS, throttlingKnown: false });
    return outcome.ok
      ? { ...base, errorCode: ErrorCode.NONE, errorMessage: null }
      : { ...base, errorCode: outcome.errorCode, errorMessage: outcome.message };
  }));
}
