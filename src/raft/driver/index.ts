export { RaftServer, NotLeaderError, ProposalDroppedError, type CommittedEvent, type RaftServerOptions } from './server.js';
export { DurableStorage, parseLog, type RecoveryReport } from './storage.js';
export { TcpTransport, FrameDecoder, frame, type PeerAddress, type TransportOptions } from './transport.js';
export { encodeMessage, decodeMessage, CodecError } from './codec.js';
export { parseQuorumVoters } from './quorum-voters.js';
