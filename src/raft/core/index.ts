export { RaftNode, type RaftStatus } from './raft.js';
export { RaftLog } from './log.js';
export { Progress } from './progress.js';
export {
  applyConfChange, decodeConfState, encodeConfState, isMember, isVoter, normalizeConfState, quorumSize, sameConfState,
  type ConfChange,
} from './confchange.js';
export * from './types.js';
export { bootstrapState } from './bootstrap.js';
