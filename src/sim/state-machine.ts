/**
 * The simulated application: a running hash of applied entries, so two nodes agree exactly when they
 * applied the same entries in the same order. Its snapshot is (index, hash).
 */
import { invariant } from '../common/assert.js';
import { entryKey } from './checker.js';
import type { Entry, Snapshot } from '../raft/core/types.js';

export class HashStateMachine {
  appliedIndex = 0;
  hash = 0x811c9dc5;

  apply(entry: Entry): void {
    invariant(entry.index === this.appliedIndex + 1, () => `applied ${entry.index} after ${this.appliedIndex}`);
    this.hash = fnv1a(this.hash, entryKey(entry));
    this.appliedIndex = entry.index;
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(`${this.appliedIndex}:${this.hash}`);
  }

  install(snapshot: Snapshot): void {
    if (snapshot.data.length === 0) {
      invariant(snapshot.metadata.index === 0, 'empty snapshot data after index 0');
      this.appliedIndex = 0;
      this.hash = 0x811c9dc5;
      return;
    }
    const [index, hash] = new TextDecoder().decode(snapshot.data).split(':').map(Number);
    invariant(index === snapshot.metadata.index, () => `snapshot data index ${index} != ${snapshot.metadata.index}`);
    this.appliedIndex = index!;
    this.hash = hash!;
  }
}

function fnv1a(seed: number, text: string): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
