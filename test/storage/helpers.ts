import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';
import { FilePool } from '../../src/storage/file-pool.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';

export function tempDir(prefix = 'runnel-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openLog(
  dir: string, overrides: Record<string, string | number> = {}, extra: Partial<PartitionLogOptions> = {},
): Promise<PartitionLog> {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config: applyLogConfigOverrides(defaultLogConfig, overrides),
    filePool: new FilePool(8), clock: new ManualClock(1_700_000_000_000), ...extra,
  });
}

export async function readAll(log: PartitionLog, from = log.logStartOffset, upTo = log.logEndOffset): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of log.batches(from, upTo)) out.push(Buffer.from(b));
  return out;
}
