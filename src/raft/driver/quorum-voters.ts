/**
 * `controller.quorum.voters` for the Raft driver: the config parser (src/config/config.ts parseVoters,
 * the one implementation) with Raft's ids, which start at 1 (0 means "no node" in the core); its
 * errors as RangeError.
 */
import { parseVoters } from '../../config/config.js';
import type { NodeId } from '../core/types.js';
import type { PeerAddress } from './transport.js';

export function parseQuorumVoters(text: string): Map<NodeId, PeerAddress> {
  try {
    return parseVoters(text, 1);
  } catch (error) {
    throw new RangeError((error as Error).message);
  }
}
