/**
 * Test harness for the group coordinator core: a ManualClock, a log per `__consumer_offsets` partition
 * that records every append, and a driver that completes appends (or holds them back) and collects the
 * delayed responses by token.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { Prng } from '../../src/common/prng.js';
import {
  GroupCoordinatorCore,
  type AppendRequest,
  type CoordinatorRecord,
  type DelayedResponse,
  type GroupCoordinatorConfig,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type SyncGroupResponse,
  ErrorCode,
} from '../../src/group/index.js';

export class Harness {
  readonly clock = new ManualClock(1_000_000);
  readonly core: GroupCoordinatorCore;
  /** partition → records appended and completed successfully, in order. */
  readonly log = new Map<number, CoordinatorRecord[]>();
  readonly responses = new Map<number, DelayedResponse>();
  /** Appends not yet completed (when autoComplete is off). */
  readonly heldAppends: AppendRequest[] = [];
  autoComplete = true;
  private nextToken = 1;

  constructor(config: Partial<GroupCoordinatorConfig> = {}, seed = 1, partitionExists?: (t: string, p: number) => boolean) {
    this.core = new GroupCoordinatorCore({
      clock: this.clock,
      prng: new Prng(seed),
      config: { groupInitialRebalanceDelayMs: 0, ...config },
      ...(partitionExists ? { partitionExists } : {}),
    });
  }

  /** Takes ownership of every partition (empty). */
  ownAll(): this {
    for (let p = 0; p < this.core.config.offsetsTopicNumPartitions; p++) this.core.load(p, []);
    return this;
  }

  token(): number {
    return this.nextToken++;
  }

  /** Drains outputs until quiet: appends are completed (or held), responses stored by token. */
  pump(): void {
    for (let round = 0; round < 1_000; round++) {
      const outputs = this.core.drainOutputs();
      if (outputs.length === 0) return;
      for (const output of outputs) {
        if (output.kind === 'response') {
          assert.equal(this.responses.has(output.response.token), false, `token ${output.response.token} answered twice`);
          this.responses.set(output.response.token, output.response);
        } else if (this.autoComplete) {
          this.completeAppend(output.append, ErrorCode.NONE);
        } else {
          this.heldAppends.push(output.append);
        }
      }
    }
    assert.fail('outputs did not quiesce');
  }

  completeAppend(append: AppendRequest, errorCode: number): void {
    if (errorCode === ErrorCode.NONE) {
      const records = this.log.get(append.partition) ?? [];
      records.push(...append.records);
      this.log.set(append.partition, records);
    }
    this.core.completeAppend(append.appendId, errorCode);
  }

  /** Completes the held appends in order with the given error code, then pumps. */
  releaseHeld(errorCode: number = ErrorCode.NONE): void {
    const held = this.heldAppends.splice(0);
    for (const append of held) this.completeAppend(append, errorCode);
    this.pump();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.core.tick();
    this.pump();
  }

  /** The response for a token, if any; consumed so a second answer would be noticed. */
  take(token: number): DelayedResponse | undefined {
    const response = this.responses.get(token);
    this.responses.delete(token);
    return response;
  }

  joinResponse(token: number): JoinGroupResponse | undefined {
    const response = this.take(token);
    if (response === undefined) return undefined;
    assert.equal(response.api, 'joinGroup');
    return response.body as JoinGroupResponse;
  }

  syncResponse(token: number): SyncGroupResponse | undefined {
    const response = this.take(token);
    if (response === undefined) return undefined;
    assert.equal(response.api, 'syncGroup');
    return response.body as SyncGroupResponse;
  }

  /** Sends a JoinGroup; returns its token. */
  /** The groupInstanceId each JoinGroup token was sent with. */
  readonly lastJoinInstance = new Map<number, string | null>();

  join(request: Partial<JoinGroupRequest> & { groupId: string }): number {
    const token = this.token();
    this.lastJoinInstance.set(token, request.groupInstanceId ?? null);
    this.core.joinGroup(token, joinRequest(request));
    this.pump();
    return token;
  }

  /** KIP-394 two-step join of a new dynamic member; returns the (pending) join token and member id. */
  joinNew(groupId: string, extra: Partial<JoinGroupRequest> = {}): { token: number; memberId: string } {
    const first = this.joinResponse(this.join({ groupId, ...extra, memberId: '' }));
    assert.ok(first, 'MEMBER_ID_REQUIRED is immediate');
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const token = this.join({ groupId, ...extra, memberId: first.memberId });
    return { token, memberId: first.memberId };
  }

  /**
   * Joins `count` new dynamic members into one generation: all first steps before any second step, so
   * the pending (KIP-394) members hold the rebalance until every member has joined.
   */
  joinAll(groupId: string, count: number, extra: Partial<JoinGroupRequest> = {}): { memberId: string; token: number }[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const first = this.joinResponse(this.join({ groupId, clientId: `c${i}`, ...extra, memberId: '' }));
      assert.equal(first?.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      ids.push((first as JoinGroupResponse).memberId);
    }
    return ids.map((memberId, i) => ({ memberId, token: this.join({ groupId, clientId: `c${i}`, ...extra, memberId }) }));
  }

  sync(groupId: string, memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = [], groupInstanceId: string | null = null): number {
    const token = this.token();
    this.core.syncGroup(token, { groupId, memberId, generationId, groupInstanceId, protocolType: null, protocolName: null, assignments });
    this.pump();
    return token;
  }

  heartbeat(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null = null): number {
    const response = this.core.heartbeat({ groupId, memberId, generationId, groupInstanceId });
    this.pump();
    return response.errorCode;
  }

  /** Brings a group of dynamic members to Stable; leader assigns `assignment-<memberId>` bytes. */
  stableGroup(groupId: string, count: number, extra: Partial<JoinGroupRequest> = {}): { memberIds: string[]; generationId: number; leaderId: string } {
    const joins = this.joinAll(groupId, count, extra);
    const responses = joins.map((j) => this.joinResponse(j.token));
    for (const r of responses) {
      assert.ok(r, 'join completed');
      assert.equal(r.errorCode, ErrorCode.NONE);
    }
    const first = responses[0] as JoinGroupResponse;
    const memberIds = joins.map((j) => j.memberId);
    const assignments = memberIds.map((memberId) => ({ memberId, assignment: Buffer.from(`assignment-${memberId}`) }));
    const syncTokens = memberIds.map((memberId) =>
      this.sync(groupId, memberId, first.generationId, memberId === first.leader ? assignments : []),
    );
    for (const [i, token] of syncTokens.entries()) {
      const r = this.syncResponse(token);
      assert.ok(r, 'sync completed');
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.assignment.toString(), `assignment-${memberIds[i]}`);
    }
    assert.equal(this.core.inspectGroup(groupId)?.state, 'Stable');
    return { memberIds, generationId: first.generationId, leaderId: first.leader };
  }
}

export function joinRequest(request: Partial<JoinGroupRequest> & { groupId: string }): JoinGroupRequest {
  return {
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    reason: null,
    requireKnownMemberId: true,
    supportSkippingAssignment: false,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    ...request,
  };
}
