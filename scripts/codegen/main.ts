/**
 * Regenerates src/protocol/generated from Kafka's message specs.
 * Usage: npm run codegen -- [--specs DIR] [--out DIR]
 * Defaults: ../shared/kafka-message-specs (relative to the repository) → src/protocol/generated.
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

function main(args: string[]): void {
  const specs = option(args, '--specs', resolve(repoRoot, '..', 'shared', 'kafka-message-specs'));
  const out = option(args, '--out', join(repoRoot, 'src', 'protocol', 'generated'));
  const files = generate(specs);
  mkdirSync(out, { recursive: true });
  // Stale outputs (an API removed from the specs) must not linger.
  for (const old of readdirSync(out)) if (old.endsWith('.ts') && !files.has(old)) rmSync(join(out, old));
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  process.stderr.write(`codegen: ${files.size} files from ${specs} into ${out}\n`);
}

main(process.argv.slice(2));
