/**
 * Single-server membership changes (thesis §4.1): each change adds or removes one voter, so any two
 * consecutive configurations have overlapping majorities and no joint consensus is needed.
 */
import { invariant } from '../../common/assert.js';
import type { ConfState, NodeId } from './types.js';

export type ConfChange =
  | { readonly type: 'add-voter'; readonly nodeId: NodeId }
  | { readonly type: 'add-learner'; readonly nodeId: NodeId }
  | { readonly type: 'remove-node'; readonly nodeId: NodeId };

/** The configuration after change, or undefined when it would change nothing or leave no voter. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState | undefined {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  if (change.type === 'add-voter') voters.push(change.nodeId);
  if (change.type === 'add-learner') learners.push(change.nodeId);
  const next = normalizeConfState({ voters, learners });
  if (next.voters.length === 0 || sameConfState(conf, next)) return undefined;
  return next;
}

export function normalizeConfState(conf: ConfState): ConfState {
  const voters = [...new Set(conf.voters)].sort((a, b) => a - b);
  const learners = [...new Set(conf.learners)].filter((id) => !voters.includes(id)).sort((a, b) => a - b);
  return { voters, learners };
}

export function sameConfState(a: ConfState, b: ConfState): boolean {
  return sameIds(a.voters, b.voters) && sameIds(a.learners, b.learners);
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export function encodeConfState(conf: ConfState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ voters: conf.voters, learners: conf.learners }));
}

export function decodeConfState(data: Uint8Array): ConfState {
  const parsed = JSON.parse(new TextDecoder().decode(data)) as { voters?: unknown; learners?: unknown };
  invariant(isIdList(parsed.voters) && isIdList(parsed.learners), 'malformed conf-change entry');
  return { voters: parsed.voters, learners: parsed.learners };
}

function isIdList(value: unknown): value is NodeId[] {
  return Array.isArray(value) && value.every((id) => Number.isInteger(id) && id > 0);
}

/** Majority of the voters (thesis §3.4). */
export function quorumSize(conf: ConfState): number {
  return Math.floor(conf.voters.length / 2) + 1;
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}
