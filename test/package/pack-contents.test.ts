/**
 * What `npm pack` puts in the published package (issue #27): the compiled broker, its types, the README
 * and the LICENSE, and nothing else (no tests, no sources, no benchmark results, no source maps that
 * point at sources the package does not carry). The clean-directory install of that tarball is
 * test/install/clean-install.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackEntry { readonly path: string }
interface PackResult { readonly name: string; readonly files: readonly PackEntry[]; readonly unpackedSize: number }

let packed: PackResult | undefined;

/** Builds and lists the package once for both tests: `npm run build` is a full tsc compile, most of this file's time. */
function packedFiles(): PackResult {
  packed ??= buildAndPack();
  return packed;
}

function buildAndPack(): PackResult {
  execFileSync(npm, ['run', '--silent', 'build'], { stdio: 'ignore', timeout: 300_000 });
  const json = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', timeout: 300_000 });
  const results = JSON.parse(json) as PackResult[];
  assert.equal(results.length, 1);
  return results[0]!;
}

test('npm pack: dist, README, LICENSE and package.json only', () => {
  const pack = packedFiles();
  const paths = pack.files.map((file) => file.path);
  assert.equal(pack.name, 'runnel-broker');
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js']) {
    assert.ok(paths.includes(required), `${required} is missing from the package`);
  }
  const unexpected = paths.filter((path) => !['package.json', 'README.md', 'LICENSE'].includes(path) && !path.startsWith('dist/src/'));
  assert.deepEqual(unexpected, [], 'files outside dist/src in the package');
  const forbidden = paths.filter((path) => /(^|\/)(test|bench|scripts)\/|\.map$|\.test\.|(?<!\.d)\.ts$/.test(path));
  assert.deepEqual(forbidden, [], 'tests, bench, scripts, sources or source maps in the package');
  // The generated codecs are most of it; a jump means something else got in (bench results, data).
  assert.ok(pack.unpackedSize < 8 * 1024 * 1024, `unpacked size ${pack.unpackedSize} bytes`);
});

test('package.json: the bin and the entry points it names are in the package', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; main: string; types: string; engines: { node: string } };
  assert.deepEqual(Object.keys(pkg.bin), ['runnel']);
  const paths = new Set(packedFiles().files.map((file) => file.path));
  for (const path of [pkg.bin['runnel']!, pkg.main, pkg.types]) assert.ok(paths.has(path), path);
  // The bin is run directly by npm's shim: it needs its shebang.
  assert.match(readFileSync(pkg.bin['runnel']!, 'utf8'), /^#!\/usr\/bin\/env -S node /);
});
