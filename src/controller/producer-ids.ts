/**
 * Producer ids for InitProducerId (KIP-98), handed out from blocks allocated through the controller
 * (KIP-730: Kafka's ProducerIdControlManager writes a ProducerIdsRecord per block and each broker's
 * RPCProducerIdManager serves ids from its current block). A block is committed before any id in it is
 * returned, and the image's nextProducerId survives restarts and controller failover, so an id is never
 * handed out twice even after a crash (the rest of an unfinished block is skipped, as in Kafka).
 *
 * `planProducerIdBlock` is the controller's decision; `ProducerIdManager` is the broker's side: at most
 * one AllocateProducerIds request in flight, sent through the controller channel.
 */
import type { Plan } from './admin.js';
import type { MetadataImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ControllerChannel } from './requests.js';

/** ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Block allocations one caller waits through before giving up (many callers can drain a block). */
const ALLOCATION_ROUNDS_MAX = 100;
const ALLOCATION_TIMEOUT_MS = 30_000;

export class ProducerIdsExhaustedError extends Error {
  override name = 'ProducerIdsExhaustedError';
}

/** ProducerIdControlManager.generateNextProducerId: the next block for brokerId; its first id is the value. */
export function planProducerIdBlock(image: MetadataImage, brokerId: number, blockSize = PRODUCER_ID_BLOCK_SIZE): Plan<number> {
  const firstProducerId = image.nextProducerId;
  // Producer ids are int64 on the wire; here they must stay exact JS numbers.
  if (firstProducerId > Number.MAX_SAFE_INTEGER - blockSize) {
    return { ok: false, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'Exhausted all producerIds' };
  }
  return { ok: true, records: [{ type: 'ProducerIds', brokerId, nextProducerId: firstProducerId + blockSize }], value: firstProducerId };
}

export class ProducerIdManager {
  private nextProducerId = 0;
  private blockEnd = 0;
  private allocation: Promise<void> | undefined;

  constructor(
    private readonly channel: ControllerChannel,
    private readonly brokerId: number,
    /** The broker epoch of this node's registration (AllocateProducerIds carries it). */
    private readonly brokerEpoch: () => number,
  ) {}

  /** A producer id never returned before; rejects when no new block can be committed. */
  async generateProducerId(): Promise<number> {
    for (let round = 0; round < ALLOCATION_ROUNDS_MAX; round++) {
      if (this.nextProducerId < this.blockEnd) return this.nextProducerId++;
      await this.allocateBlock();
    }
    throw new ProducerIdsExhaustedError('no producer id block available');
  }

  private allocateBlock(): Promise<void> {
    this.allocation ??= this.commitBlock().finally(() => {
      this.allocation = undefined;
    });
    return this.allocation;
  }

  private async commitBlock(): Promise<void> {
    const outcome = await this.channel.send(
      { type: 'allocateProducerIds', brokerId: this.brokerId, brokerEpoch: this.brokerEpoch() }, ALLOCATION_TIMEOUT_MS,
    );
    if (!outcome.ok) throw new ProducerIdsExhaustedError(outcome.message ?? `no producer id block (error ${outcome.errorCode})`);
    this.nextProducerId = outcome.value.producerIdStart;
    this.blockEnd = outcome.value.producerIdStart + outcome.value.producerIdLen;
  }
}
