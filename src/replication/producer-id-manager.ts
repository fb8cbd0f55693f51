/**
 * Producer ids for InitProducerId (KIP-98), handed out from blocks allocated through the metadata log
 * (KIP-730: Kafka's ProducerIdControlManager writes a ProducerIdsRecord per block and each broker's
 * RPCProducerIdManager serves ids from its current block). A block is committed before any id in it is
 * returned, and the image's nextProducerId survives restarts, so an id is never handed out twice even
 * after a crash (the rest of an unfinished block is skipped, as in Kafka).
 *
 * One owner: at most one allocation is in flight, and it is planned by the node's serial metadata writer
 * (AdminController.run) against the image that already holds every earlier record, so blocks never
 * overlap. A standalone node is its own controller; in a cluster the controller writes the same record
 * on a broker's request (AllocateProducerIds).
 */
import type { Plan } from '../controller/admin.js';
import type { MetadataImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';

/** ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Block allocations one caller waits through before giving up (many callers can drain a block). */
const ALLOCATION_ROUNDS_MAX = 100;

export class ProducerIdsExhaustedError extends Error {
  override name = 'ProducerIdsExhaustedError';
}

/** The metadata writer's serial runner (AdminController). */
export interface MetadataPlanRunner {
  run<T>(plan: (image: MetadataImage) => Plan<T>): Promise<Plan<T>>;
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
    private readonly controller: MetadataPlanRunner,
    private readonly brokerId: number,
    private readonly blockSize = PRODUCER_ID_BLOCK_SIZE,
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
    const planned = await this.controller.run((image) => planProducerIdBlock(image, this.brokerId, this.blockSize));
    if (!planned.ok) throw new ProducerIdsExhaustedError(planned.message ?? 'no producer id block');
    this.nextProducerId = planned.value;
    this.blockEnd = planned.value + this.blockSize;
  }
}
