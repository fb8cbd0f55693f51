/**
 * This package's version, from the package.json found by walking up from this file (src/common in a
 * clone run through tsx, dist/src/common in the built and the installed package). For `--version`,
 * the start log line and the `runnel_broker_info` metric.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_NAME = 'runnel-broker';
const searchDepthMax = 5;

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= findVersion();
  return cached;
}

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < searchDepthMax; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME) return pkg.version ?? 'unknown';
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
