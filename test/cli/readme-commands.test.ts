/**
 * The README's shell blocks are what a new user types first (issue #27): every `runnel` command in them
 * must be one the CLI accepts (arguments parse, `--set` keys and values resolve), and every `npm run`
 * script they name must exist. The ExecStart line of the systemd example counts as a command too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCliArguments } from '../../src/cli/args.js';
import { resolveConfig } from '../../src/config/config.js';

const readme = readFileSync('README.md', 'utf8');
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

/** Lines of the ```sh / ```ini / ```bash blocks, comments removed. */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  const blocks = markdown.matchAll(/^```(sh|bash|ini)\n([\s\S]*?)^```$/gm);
  for (const block of blocks) {
    for (const line of block[2]!.split('\n')) {
      const withoutComment = line.replace(/(^|\s)#.*$/, '').trim();
      if (withoutComment !== '') lines.push(withoutComment.replace(/^ExecStart=/, ''));
    }
  }
  return lines;
}

/** A small shell word splitter: whitespace, '…' and "…" quoting; enough for documentation lines. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(match[1] ?? match[2] ?? match[3]!);
  return out;
}

/** The arguments after the `runnel` command in a line, or null when the line does not run it. */
function runnelArguments(line: string): string[] | null {
  const tokens = words(line.split(/\s*(?:\||&&|;)\s*/).find((part) => /(^|\/|\s)runnel(\s|$)/.test(part)) ?? '');
  const at = tokens.findIndex((token) => token === 'runnel' || token.endsWith('/.bin/runnel'));
  return at < 0 ? null : tokens.slice(at + 1);
}

test('README: every runnel command in a shell block is accepted by the CLI', () => {
  const commands = shellLines(readme).map(runnelArguments).filter((args): args is string[] => args !== null);
  // The quick start, the configuration example and the systemd unit at least.
  assert.ok(commands.length >= 4, `found only ${commands.length} runnel commands in README.md`);
  for (const args of commands) {
    const parsed = parseCliArguments(args);
    if (parsed.command !== 'start') continue;
    // --set keys and values must resolve (the --config file itself is the user's).
    assert.doesNotThrow(() => resolveConfig({ overrides: parsed.overrides }), `runnel ${args.join(' ')}`);
  }
});

test('README: the command the package installs is runnel, and npm scripts named in shell blocks exist', () => {
  assert.ok(packageJson.bin['runnel'] !== undefined);
  const scripts = shellLines(readme).flatMap((line) => [...line.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
  for (const script of scripts) assert.ok(packageJson.scripts[script] !== undefined, `npm run ${script}`);
});

test('the README command check refuses what the CLI refuses', () => {
  const bad = shellLines('```sh\nnpx runnel start --bogus\n```\n').map(runnelArguments);
  assert.deepEqual(bad, [['start', '--bogus']]);
  assert.throws(() => parseCliArguments(bad[0]!));
  const badSet = parseCliArguments(runnelArguments('runnel start --set no.such.property=1')!);
  assert.throws(() => resolveConfig({ overrides: badSet.overrides }));
});
