/**
 * Parses Kafka's `controller.quorum.voters` ("1@host:9093,2@host:9093"): the voter ids and their
 * Raft addresses (KIP-595).
 */
import type { NodeId } from '../core/types.js';
import type { PeerAddress } from './transport.js';

export function parseQuorumVoters(text: string): Map<NodeId, PeerAddress> {
  const voters = new Map<NodeId, PeerAddress>();
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(item);
    if (match === null) throw new RangeError(`controller.quorum.voters: "${item}" is not id@host:port`);
    const id = Number(match[1]);
    const port = Number(match[3]);
    if (id <= 0 || port <= 0 || port > 65535) throw new RangeError(`controller.quorum.voters: bad id or port in "${item}"`);
    if (voters.has(id)) throw new RangeError(`controller.quorum.voters: node ${id} listed twice`);
    voters.set(id, { host: match[2]!.replace(/^\[|\]$/g, ''), port });
  }
  if (voters.size === 0) throw new RangeError('controller.quorum.voters is empty');
  return voters;
}
