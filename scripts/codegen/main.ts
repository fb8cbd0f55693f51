/**
 * Regenerates src/protocol/generated from Kafka's message specs.
 * Usage: npm run codegen -- [--specs DIR]... [--out DIR]
 * Defaults: the union of ../shared/kafka-message-specs (October 2024, the versions Kafka 4.0 removed that old
 * clients still send) and ../shared/kafka-message-specs-4.4 (Kafka 4.4.0, deciding every version it
 * defines), relative to the repository → src/protocol/generated. The generated files are committed:
 * nothing but this script reads the specs, so building, running and testing Runnel never needs them.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const value = args[i + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return resolve(value);
}

/** Every `--specs DIR`, in order (oldest copy first), or the default pair. */
const defaultSpecDirs = [
  resolve(repoRoot, '..', 'shared', 'kafka-message-specs'),
  resolve(repoRoot, '..', 'shared', 'kafka-message-specs-4.4'),
];

function specDirs(args: string[]): string[] {
  const dirs: string[] = [];
  for (let i = args.indexOf('--specs'); i !== -1; i = args.indexOf('--specs', i + 1)) {
    const value = args[i + 1];
    if (value === undefined) throw new Error('--specs needs a value');
    dirs.push(resolve(value));
  }
  return dirs.length > 0 ? dirs : defaultSpecDirs;
}

function main(args: string[]): void {
  const specs = specDirs(args);
  const out = option(args, '--out', join(repoRoot, 'src', 'protocol', 'generated'));
  const files = generate(specs);
  mkdirSync(out, { recursive: true });
  // Stale outputs (an API removed from the specs) must not linger.
  for (const old of readdirSync(out)) if (old.endsWith('.ts') && !files.has(old)) rmSync(join(out, old));
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  process.stderr.write(`codegen: ${files.size} files from ${specs.join(' + ')} into ${out}\n`);
}

main(process.argv.slice(2));
