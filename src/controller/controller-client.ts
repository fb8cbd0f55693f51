/**
 * The ControllerChannel every node uses (DESIGN §5): a request goes to the local QuorumController when
 * this node is the active controller, else over the controller listener to the voter believed active
 * (the Raft leader hint, then each voter in turn). NOT_CONTROLLER and transport failures are retried
 * with a short backoff until the request's deadline; an answer whose records were committed is returned
 * only once this node's image holds them, so a handler that created a topic sees it at once.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataLoader } from '../metadata/loader.js';
import type { PeerAddress } from '../raft/driver/transport.js';
import { RpcClient } from '../raft/driver/rpc-client.js';
import { json, type ControllerRpcAnswer } from './controller-rpc.js';
import type { QuorumController } from './quorum-controller.js';
import type { ControllerChannel, ControllerOutcomeOf, ControllerRequestOf, ControllerRequestType } from './requests.js';

/** A request with no deadline of its own still gives up after this long. */
const UNBOUNDED_TIMEOUT_MS = 60_000;
const RETRY_BACKOFF_MS = 50;
const RPC_ATTEMPT_TIMEOUT_MS_MAX = 15_000;

export interface ControllerClientOptions {
  /** This node's controller when it is a voter. */
  readonly local: QuorumController | undefined;
  readonly voters: ReadonlyMap<number, PeerAddress>;
  readonly nodeId: number;
  readonly loader: MetadataLoader;
  /** The Raft leader as this node knows it (-1: unknown). */
  readonly leaderHint: () => number;
  readonly rpc: RpcClient;
}

export class ControllerClient implements ControllerChannel {
  private lastLeader = -1;
  private nextVoter = 0;
  private closed = false;

  constructor(private readonly options: ControllerClientOptions) {}

  async send<K extends ControllerRequestType>(request: ControllerRequestOf<K>, timeoutMs: number): Promise<ControllerOutcomeOf<K>> {
    const deadline = Date.now() + (timeoutMs > 0 ? timeoutMs : UNBOUNDED_TIMEOUT_MS);
    let last: ControllerOutcomeOf<K> = timedOut();
    while (!this.closed && Date.now() < deadline) {
      const remaining = deadline - Date.now();
      const local = this.options.local;
      if (local?.isActive === true) {
        const committed = await local.submit(request, remaining);
        if (committed.outcome.ok || committed.outcome.errorCode !== ErrorCode.NOT_CONTROLLER) return committed.outcome;
        last = committed.outcome;
      } else {
        const answer = await this.remote(request, remaining);
        if (answer !== undefined) {
          if (answer.leaderId >= 0) this.lastLeader = answer.leaderId;
          const outcome = answer.outcome as ControllerOutcomeOf<K>;
          if (outcome.ok || outcome.errorCode !== ErrorCode.NOT_CONTROLLER) {
            if (answer.offset >= 0) await this.options.loader.waitFor(answer.offset, deadline - Date.now());
            return outcome;
          }
          last = outcome;
        }
      }
      await sleep(Math.min(RETRY_BACKOFF_MS, Math.max(0, deadline - Date.now())));
    }
    return last.ok || last.errorCode !== ErrorCode.NOT_CONTROLLER ? timedOut() : last;
  }

  close(): void {
    this.closed = true;
  }

  private async remote(request: ControllerRequestOf<ControllerRequestType>, remainingMs: number): Promise<ControllerRpcAnswer | undefined> {
    const target = this.target();
    if (target === undefined) return undefined;
    const attemptMs = Math.min(remainingMs, RPC_ATTEMPT_TIMEOUT_MS_MAX);
    try {
      const response = await this.options.rpc.request(target.address, json({ method: 'controller', request, timeoutMs: attemptMs }), attemptMs + 1000);
      const answer = JSON.parse(response.toString('utf8')) as ControllerRpcAnswer;
      if (answer?.outcome === undefined) return undefined;
      return answer;
    } catch {
      // That voter is unreachable or slow: forget it as the leader and try the next.
      if (this.lastLeader === target.id) this.lastLeader = -1;
      return undefined;
    }
  }

  /** The voter to ask: this node's Raft leader hint, the last leader an answer named, else round robin. */
  private target(): { id: number; address: PeerAddress } | undefined {
    const voters = this.options.voters;
    for (const id of [this.options.leaderHint(), this.lastLeader]) {
      const address = voters.get(id);
      if (id >= 0 && id !== this.options.nodeId && address !== undefined) return { id, address };
    }
    const ids = [...voters.keys()].filter((id) => id !== this.options.nodeId);
    if (ids.length === 0) return undefined;
    const id = ids[this.nextVoter++ % ids.length]!;
    return { id, address: voters.get(id)! };
  }
}

function timedOut<T>(): { ok: false; errorCode: number; message: string } & Partial<{ value: T }> {
  return { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: 'Timed out waiting for the active controller.' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
