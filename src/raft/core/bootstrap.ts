import { normalizeConfState } from './confchange.js';
import type { ConfState, PersistedState } from './types.js';

/**
 * The state of a brand-new node: an empty log whose snapshot at index 0 carries the configured voters
 * and observers (`controller.quorum.voters`), so every node starts from the same configuration.
 */
export function bootstrapState(conf: ConfState): PersistedState {
  return {
    hardState: { term: 0, vote: 0, commitIndex: 0 },
    snapshot: { metadata: { index: 0, term: 0, confState: normalizeConfState(conf) }, data: new Uint8Array() },
    entries: [],
  };
}
