/**
 * The controller channel across processes (DESIGN §5): requests as JSON over the controller listener
 * (RPC frames beside Raft's, src/raft/driver/transport.ts), served by every controller voter.
 *
 *   { method: 'controller', request, timeoutMs }   → { outcome, offset, leaderId }
 *       run on the active controller; any other voter answers NOT_CONTROLLER with its leader hint.
 *   { method: 'fetchMetadata', afterOffset, maxWaitMs } → { batches, leaderId }
 *       committed metadata for observers (broker-only nodes), from any voter (MetadataHistory).
 *
 * A malformed request closes nothing and answers an error; requests are data only, never code.
 */
import type { CommittedBatch } from '../metadata/metadata-log.js';
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataHistory } from './metadata-history.js';
import type { CommittedOutcome, QuorumController } from './quorum-controller.js';
import type { ControllerRequest, ControllerRequestType } from './requests.js';

/** Longest long poll a metadata fetch may ask for, and the longest controller wait (bounds parked work). */
const FETCH_WAIT_MS_MAX = 5_000;
const CONTROLLER_TIMEOUT_MS_MAX = 120_000;

export type RpcRequest =
  | { readonly method: 'controller'; readonly request: ControllerRequest; readonly timeoutMs: number }
  | { readonly method: 'fetchMetadata'; readonly afterOffset: number; readonly maxWaitMs: number }
  | { readonly method: 'describeQuorum' };

export interface ControllerRpcAnswer {
  readonly outcome: CommittedOutcome<ControllerRequestType>['outcome'];
  readonly offset: number;
  readonly leaderId: number;
}

export interface FetchMetadataAnswer {
  readonly batches: readonly CommittedBatch[];
  readonly leaderId: number;
}

export class ControllerRpcService {
  constructor(
    private readonly controller: QuorumController,
    private readonly history: MetadataHistory,
    private readonly leaderId: () => number,
    /** This voter's quorum description when it leads (DescribeQuorum), else undefined. */
    private readonly describeQuorum: () => unknown = () => undefined,
  ) {}

  handle(payload: Buffer, reply: (response: Buffer) => void): void {
    let request: RpcRequest;
    try {
      request = JSON.parse(payload.toString('utf8')) as RpcRequest;
    } catch {
      reply(json({ error: 'malformed request' }));
      return;
    }
    switch (request?.method) {
      case 'controller': {
        const timeoutMs = clamp(request.timeoutMs, CONTROLLER_TIMEOUT_MS_MAX);
        this.controller.submit(request.request, timeoutMs).then(
          (committed) => reply(json({ ...committed, leaderId: this.leaderId() } satisfies ControllerRpcAnswer)),
          (err: unknown) => reply(json({
            outcome: { ok: false, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: String((err as Error)?.message ?? err) },
            offset: -1, leaderId: this.leaderId(),
          } satisfies ControllerRpcAnswer)),
        );
        return;
      }
      case 'fetchMetadata':
        this.history.fetch(Number(request.afterOffset), clamp(request.maxWaitMs, FETCH_WAIT_MS_MAX)).then(
          (batches) => reply(json({ batches, leaderId: this.leaderId() } satisfies FetchMetadataAnswer)),
          () => reply(json({ batches: [], leaderId: this.leaderId() } satisfies FetchMetadataAnswer)),
        );
        return;
      case 'describeQuorum':
        reply(json({ description: this.describeQuorum(), leaderId: this.leaderId() }));
        return;
      default:
        reply(json({ error: 'unknown method' }));
    }
  }
}

function clamp(value: unknown, max: number): number {
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), max) : 0;
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
