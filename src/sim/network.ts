/**
 * The simulated network: drops, duplicates, delays (and so reorders) messages and cuts links, one way or
 * both. Every choice comes from the simulation's Prng.
 */
import type { Prng } from '../common/prng.js';
import type { NodeId } from '../raft/core/types.js';

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  maxDelayMs: number;
}

export class SimNetwork {
  private blocked = new Map<string, number>();

  constructor(private readonly prng: Prng, public faults: NetworkFaults) {}

  /** Delivery delays for one send: empty when dropped, two when duplicated. */
  delaysFor(from: NodeId, to: NodeId): number[] {
    if (this.isBlocked(from, to) || this.prng.chance(this.faults.dropRate)) return [];
    const first = this.prng.int(1, this.faults.maxDelayMs);
    if (!this.prng.chance(this.faults.duplicateRate)) return [first];
    return [first, this.prng.int(1, this.faults.maxDelayMs * 2)];
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return (this.blocked.get(linkKey(from, to)) ?? 0) > 0;
  }

  /** Cuts links; returns them so the matching heal restores exactly these (cuts may overlap). */
  cut(links: readonly (readonly [NodeId, NodeId])[]): readonly (readonly [NodeId, NodeId])[] {
    for (const [from, to] of links) {
      const key = linkKey(from, to);
      this.blocked.set(key, (this.blocked.get(key) ?? 0) + 1);
    }
    return links;
  }

  restore(links: readonly (readonly [NodeId, NodeId])[]): void {
    for (const [from, to] of links) {
      const key = linkKey(from, to);
      const count = (this.blocked.get(key) ?? 0) - 1;
      if (count > 0) this.blocked.set(key, count);
      else this.blocked.delete(key);
    }
  }

  healAll(): void {
    this.blocked.clear();
  }

  get cutLinkCount(): number { return this.blocked.size; }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

/** Both directions between every node of side a and every node of side b. */
export function linksBetween(a: readonly NodeId[], b: readonly NodeId[], oneWay: boolean): [NodeId, NodeId][] {
  const links: [NodeId, NodeId][] = [];
  for (const x of a) {
    for (const y of b) {
      links.push([x, y]);
      if (!oneWay) links.push([y, x]);
    }
  }
  return links;
}
