/**
 * What a node is, from Kafka's KRaft properties (KafkaConfig's validation, reduced): its roles
 * (`process.roles`), the quorum (`controller.quorum.voters`), the listener clients and other brokers use,
 * and the controller listener (`controller.listener.names`) that Raft and the controller channel bind.
 *
 * With `controller.quorum.voters` empty the node is standalone: broker and controller in one process, a
 * one-voter quorum of itself that needs no controller listener.
 */
import { ConfigError, parseListeners, parseProcessRoles, parseProtocolMap, parseVoters, type NamedListener, type ProcessRole, type RunnelConfig } from './config.js';

export interface NodeLayout {
  readonly nodeId: number;
  readonly roles: ReadonlySet<ProcessRole>;
  readonly isBroker: boolean;
  readonly isController: boolean;
  /** The listener clients and other brokers connect to (brokers only). */
  readonly brokerListener: NamedListener | undefined;
  /** The listener Raft and the controller channel bind (voters of a multi-node quorum only). */
  readonly controllerListener: NamedListener | undefined;
  /** Every voter's controller address, by node id (standalone: this node, address unused). */
  readonly voters: ReadonlyMap<number, { host: string; port: number }>;
  readonly standalone: boolean;
  readonly rack: string | null;
}

export function nodeLayout(config: RunnelConfig): NodeLayout {
  const nodeId = config['node.id'];
  const roles = parseProcessRoles(config['process.roles']);
  const listeners = parseListeners(config.listeners);
  const votersText = config['controller.quorum.voters'];
  const protocols = parseProtocolMap(config['listener.security.protocol.map']);
  const controllerNames = new Set(config['controller.listener.names'].split(',').map((n) => n.trim().toUpperCase()).filter((n) => n !== ''));
  const isBroker = roles.has('broker');
  const isController = roles.has('controller');
  const rack = config['broker.rack'] === '' ? null : config['broker.rack'];
  const brokerListeners = listeners.filter((l) => !controllerNames.has(l.name));
  // A standalone node binds no controller listener, so only the listeners it binds must be PLAINTEXT.
  const bound = votersText === '' ? brokerListeners : listeners;
  for (const l of bound) {
    const protocol = protocols.get(l.name) ?? (controllerNames.has(l.name) ? 'PLAINTEXT' : undefined);
    if (protocol === undefined) {
      throw new ConfigError(`listener ${l.name} has no security protocol: add ${l.name}:PLAINTEXT to listener.security.protocol.map`);
    }
    if (protocol !== 'PLAINTEXT') throw new ConfigError(`listener ${l.name} uses ${protocol}: only PLAINTEXT is supported`);
  }
  const interBroker = config['inter.broker.listener.name'].toUpperCase();
  const brokerListener = interBroker !== ''
    ? brokerListeners.find((l) => l.name === interBroker)
    : brokerListeners[0];
  if (isBroker && brokerListener === undefined) {
    throw new ConfigError(interBroker !== ''
      ? `inter.broker.listener.name ${interBroker} is not one of the listeners`
      : 'a broker needs a listener that is not a controller listener (listeners=PLAINTEXT://host:9092,…)');
  }
  if (brokerListeners.length > 1) {
    throw new ConfigError(`Runnel serves clients on one listener; listeners names ${brokerListeners.map((l) => l.name).join(', ')}`);
  }
  if (votersText === '') {
    if (!isBroker || !isController) {
      throw new ConfigError('controller.quorum.voters is empty: only a standalone node (process.roles=broker,controller) can run without a quorum');
    }
    return {
      nodeId, roles, isBroker, isController, brokerListener, controllerListener: undefined,
      voters: new Map([[nodeId, { host: '127.0.0.1', port: 0 }]]), standalone: true, rack,
    };
  }
  const voters = parseVoters(votersText);
  let controllerListener: NamedListener | undefined;
  if (isController) {
    if (!voters.has(nodeId)) throw new ConfigError(`node.id ${nodeId} has the controller role but is not in controller.quorum.voters`);
    controllerListener = listeners.find((l) => controllerNames.has(l.name));
    if (controllerListener === undefined) {
      throw new ConfigError(`a controller needs a listener named in controller.listener.names (${[...controllerNames].join(', ')})`);
    }
    const voterPort = voters.get(nodeId)!.port;
    if (controllerListener.port !== 0 && controllerListener.port !== voterPort) {
      throw new ConfigError(`controller listener port ${controllerListener.port} differs from this node's controller.quorum.voters entry (${voterPort})`);
    }
    if (controllerListener.port === 0) controllerListener = { ...controllerListener, port: voterPort };
  } else if (voters.has(nodeId)) {
    throw new ConfigError(`node.id ${nodeId} is in controller.quorum.voters but process.roles has no controller role`);
  }
  return { nodeId, roles, isBroker, isController, brokerListener, controllerListener, voters, standalone: false, rack };
}

/** The address a broker advertises: its entry in advertised.listeners, else the bound listener. */
export function advertisedBrokerListener(config: RunnelConfig, bound: NamedListener): NamedListener {
  if (config['advertised.listeners'] === '') return bound;
  const advertised = parseListeners(config['advertised.listeners']);
  return advertised.find((l) => l.name === bound.name) ?? advertised[0] ?? bound;
}
