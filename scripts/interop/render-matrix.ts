// Writes the interop matrix into README.md between <!-- interop-matrix:start --> and
// <!-- interop-matrix:end -->, from test/interop/results/kafka.json and runnel.json
// (written by `npm run interop -- --broker kafka` / `--broker runnel`).
// Usage: npx tsx scripts/interop/render-matrix.ts [--check]   (--check: exit 1 if README is stale)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SCENARIOS, CLIENTS, type ScenarioResult } from '../../test/interop/clients.js';
import type { MatrixReport } from '../../test/interop/matrix.js';

const START = '<!-- interop-matrix:start -->';
const END = '<!-- interop-matrix:end -->';

function load(label: string): MatrixReport | undefined {
  const f = join(REPO, 'test', 'interop', 'results', `${label}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as MatrixReport) : undefined;
}

function mark(r: ScenarioResult | undefined): string {
  if (!r) return '·';
  if (r.skipped) return 'skip';
  return r.ok ? 'pass' : 'FAIL';
}

export function render(kafka: MatrixReport | undefined, runnel: MatrixReport | undefined, extra: MatrixReport[] = []): string {
  const lines: string[] = [];
  lines.push('Each cell: **Apache Kafka / Runnel**. `skip` = the client cannot express the scenario.');
  lines.push('Scenarios are defined in [test/interop/SCENARIOS.md](test/interop/SCENARIOS.md).');
  lines.push('');
  lines.push(`| client | ${SCENARIOS.join(' | ')} |`);
  lines.push(`|---|${SCENARIOS.map(() => '---').join('|')}|`);
  for (const c of CLIENTS) {
    const cells = SCENARIOS.map((s) => {
      const k = kafka?.results.find((r) => r.client === c.name && r.scenario === s);
      const r = runnel?.results.find((x) => x.client === c.name && x.scenario === s);
      return `${mark(k)} / ${mark(r)}`;
    });
    lines.push(`| ${c.name} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  for (const rep of [kafka, runnel, ...extra]) {
    if (!rep) continue;
    const pass = rep.results.filter((r) => r.ok).length;
    const skip = rep.results.filter((r) => r.skipped).length;
    const rev = rep.revision ? ` at ${rep.revision}` : '';
    // When and on which machine stays in the result file (test/interop/results): the README has no dated lines.
    lines.push(`- ${rep.broker}: ${pass} pass, ${rep.results.length - pass - skip} fail, ${skip} skip — \`${rep.command}\`${rev}.`);
  }
  const runnels = [runnel, ...extra.filter((r) => r.label.startsWith('runnel'))].filter((r): r is MatrixReport => r !== undefined);
  const failures = runnels.flatMap((rep) => rep.results.filter((r) => !r.ok && !r.skipped).map((r) => ({ ...r, label: rep.label })));
  if (failures.length > 0) {
    lines.push('');
    lines.push('<details><summary>Runnel failures (first line of each)</summary>');
    lines.push('');
    for (const f of failures) lines.push(`- ${f.label === 'runnel' ? '' : `(${f.label}) `}${f.client} ${f.scenario}: ${f.detail.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200)}`);
    lines.push('');
    lines.push('</details>');
  }
  lines.push('');
  lines.push('Regenerate: `npm run interop -- --broker kafka && npm run interop -- --broker runnel && npm run interop:render`.');
  lines.push('Set-up of the client toolchains and of Apache Kafka: `npm run interop:setup`. Side-by-side benchmark: `npm run bench` ([bench/macro/README.md](bench/macro/README.md)).');
  return lines.join('\n');
}

function main(): void {
  const readme = join(REPO, 'README.md');
  const text = readFileSync(readme, 'utf8');
  // Extra runs get a summary line: the 3-node KRaft cluster (npm run interop -- --broker kafka --nodes 3) and
  // the 3-node Runnel cluster (--broker runnel --nodes 3), both with RF 3 topics.
  const extra = [load('kafka-3n'), load('runnel-3n')].filter((r): r is MatrixReport => r !== undefined);
  const body = render(load('kafka'), load('runnel'), extra);
  const block = `${START}\n${body}\n${END}`;
  let next: string;
  if (text.includes(START) && text.includes(END)) {
    next = text.slice(0, text.indexOf(START)) + block + text.slice(text.indexOf(END) + END.length);
  } else {
    next = `${text.trimEnd()}\n\n## Client interop matrix\n\n${block}\n`;
  }
  if (process.argv.includes('--check')) {
    if (next !== text) { console.error('README interop matrix is stale: npm run interop:render'); process.exit(1); }
    return;
  }
  writeFileSync(readme, next);
  console.log(body);
}

if (process.argv[1]?.endsWith('/render-matrix.ts')) main();
