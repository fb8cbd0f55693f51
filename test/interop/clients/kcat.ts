// Interop client: librdkafka through kcat (Debian package). Usage: tsx test/interop/clients/kcat.ts <bootstrap> <scenario>
// kcat has no admin API: topics are created with KafkaJS's admin client first (that step is shared with
// the kafkajs column, so a CreateTopics failure shows up there too). kcat applies -H headers to every
// record of one invocation, so per-record checks use key/value and the constant "client" header.
// group runs three `kcat -G -u` balanced consumers (auto-commit every 200 ms, committed on close);
// committed offsets are read back with KafkaJS's admin. configs and delete-records are not
// expressible with kcat: reported as skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import kafkajs from 'kafkajs';
import { main, check, records, replicationFactor, topicName, recordValue, sleep, PARTITIONS, Unsupported } from './common.js';

const CLIENT = 'kcat';
const KCAT = process.env.KCAT ?? 'kcat';

function kcat(args: string[], input?: string, timeoutMs = 60_000): string {
  const r = spawnSync(KCAT, args, { input, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kcat ${args.slice(0, 6).join(' ')} exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout;
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING, clientId: 'runnel-interop-kcat-setup' }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: replicationFactor() }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

interface KcatRecord { offset: number; key: string | null; payload: string | null; ts: number; headers?: string[] }

function consumePartition(bootstrap: string, topic: string, partition: number, expected: number): KcatRecord[] {
  let out: KcatRecord[] = [];
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 30 && Date.now() < deadline; attempt++) {
    const text = kcat(['-C', '-b', bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-J', '-q']);
    out = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as KcatRecord);
    if (out.length >= expected) break;
  }
  return out;
}

async function metadata(bootstrap: string): Promise<string> {
  const m = JSON.parse(kcat(['-L', '-J', '-b', bootstrap, '-m', '15'])) as { brokers: unknown[]; controllerid: number };
  check(m.brokers.length > 0, 'no brokers');
  return `brokers=${m.brokers.length} controller=${m.controllerid}`;
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
// acks=0 never comes first: a broker answers a produce to a partition it does not lead yet (right after
// CreateTopics) by closing an acks=0 connection, silently dropping the records (Kafka behaves so too).
const ACKS = ['1', '-1', '0'];

async function produceConsume(bootstrap: string): Promise<string> {
  const n = records();
  const topic = topicName('pc', CLIENT);
  await createTopic(bootstrap, topic, PARTITIONS);
  const expected: Array<Array<{ key: string; value: string }>> = Array.from({ length: PARTITIONS }, () => []);
  const per = Math.ceil(n / (CODECS.length * ACKS.length));
  let i = 0;
  for (const codec of CODECS) {
    for (const acks of ACKS) {
      const segEnd = Math.min(n, i + per);
      const lines: string[][] = Array.from({ length: PARTITIONS }, () => []);
      for (; i < segEnd; i++) {
        const value = recordValue(i, codec, acks);
        const p = i % PARTITIONS;
        lines[p]!.push(`k${i}\t${value}`);
        expected[p]!.push({ key: `k${i}`, value });
      }
      for (let p = 0; p < PARTITIONS; p++) {
        if (lines[p]!.length === 0) continue;
        kcat(['-P', '-b', bootstrap, '-t', topic, '-p', String(p), '-K', '\t', '-z', codec, '-X', `acks=${acks}`,
          '-H', `client=${CLIENT}`, '-H', `segment=${codec}/${acks}`], lines[p]!.join('\n') + '\n');
      }
    }
  }
  for (let p = 0; p < PARTITIONS; p++) {
    const exp = expected[p]!;
    const got = consumePartition(bootstrap, topic, p, exp.length);
    check(got.length === exp.length, `partition ${p}: read ${got.length} of ${exp.length}`);
    for (let o = 0; o < exp.length; o++) {
      const r = got[o]!;
      check(r.offset === o, `partition ${p}: offset ${r.offset} expected ${o}`);
      check(r.key === exp[o]!.key, `partition ${p} offset ${o}: key ${r.key} expected ${exp[o]!.key}`);
      check(r.payload === exp[o]!.value, `partition ${p} offset ${o}: value mismatch`);
      check(r.headers?.[0] === 'client' && r.headers[1] === CLIENT, `partition ${p} offset ${o}: headers ${JSON.stringify(r.headers)}`);
    }
  }
  return `records=${n} codecs=${CODECS.join(',')} acks=0,1,-1 partitions=${PARTITIONS}`;
}

function queryOffset(bootstrap: string, topic: string, ts: number): number {
  const out = kcat(['-Q', '-b', bootstrap, '-J', '-t', `${topic}:0:${ts}`]);
  const j = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as Record<string, Record<string, { offset: number }>>;
  const off = j[topic]?.['0']?.offset;
  check(typeof off === 'number', `no offset in ${out.slice(0, 200)}`);
  return off;
}

async function listOffsets(bootstrap: string): Promise<string> {
  const topic = topicName('lo', CLIENT);
  await createTopic(bootstrap, topic, 1);
  // kcat stamps records with the current time: one invocation per record keeps timestamps distinct.
  for (let i = 0; i < 10; i++) {
    kcat(['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-X', 'acks=-1'], `v${i}\n`);
    await sleep(5);
  }
  const got = consumePartition(bootstrap, topic, 0, 10);
  check(got.length === 10, `read ${got.length} of 10`);
  const earliest = queryOffset(bootstrap, topic, -2);
  const latest = queryOffset(bootstrap, topic, -1);
  const ts5 = got[5]!.ts;
  const want = got.findIndex((r) => r.ts >= ts5);
  const byTs = queryOffset(bootstrap, topic, ts5);
  check(earliest === 0, `earliest=${earliest}`);
  check(latest === 10, `latest=${latest}`);
  check(byTs === want, `byTimestamp(ts of offset 5)=${byTs} expected ${want}`);
  return `earliest=0 latest=10 byTimestamp=${byTs}`;
}

interface Member { proc: ChildProcess; assigned: Set<number>; values: Array<{ partition: number; payload: string }>; out: string; err: string }

function startMember(bootstrap: string, groupId: string, topic: string): Member {
  const proc = spawn(KCAT, ['-u', '-b', bootstrap, '-G', groupId, topic, '-J', '-X', 'auto.offset.reset=earliest',
    '-X', 'auto.commit.interval.ms=200', '-X', 'session.timeout.ms=10000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m: Member = { proc, assigned: new Set(), values: [], out: '', err: '' };
  proc.stdout!.on('data', (d: Buffer) => {
    m.out += d.toString();
    const lines = m.out.split('\n');
    m.out = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const r = JSON.parse(l) as { partition: number; payload: string };
      m.values.push({ partition: r.partition, payload: r.payload });
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    m.err += d.toString();
    const lines = m.err.split('\n');
    m.err = lines.pop() ?? '';
    for (const l of lines) {
      // "% Group g rebalanced (memberid …): assigned: t [0], t [3]" / "…: revoked: t [0], t [3]"
      const a = /rebalanced .*: (assigned|revoked): (.*)$/.exec(l);
      if (!a) continue;
      const ps = [...a[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      if (a[1] === 'assigned') { m.assigned = new Set(ps); } else { for (const p of ps) m.assigned.delete(p); }
    }
  });
  return m;
}

async function stopMembers(members: Member[]): Promise<void> {
  await Promise.all(members.map((m) => new Promise<void>((resolve) => {
    if (m.proc.exitCode !== null) { resolve(); return; }
    const t = setTimeout(() => { m.proc.kill('SIGKILL'); }, 20_000);
    m.proc.once('exit', () => { clearTimeout(t); resolve(); });
    m.proc.kill('SIGTERM'); // kcat closes the consumer: final offset commit, LeaveGroup
  })));
}

async function group(bootstrap: string): Promise<string> {
  const topic = topicName('grp', CLIENT);
  const groupId = `g-${topic}`;
  const parts = 6;
  const perPartition = 100;
  await createTopic(bootstrap, topic, parts);
  const members = [0, 1, 2].map(() => startMember(bootstrap, groupId, topic));
  try {
    const stable = (): boolean => members.every((m) => m.assigned.size > 0) && members.reduce((a, m) => a + m.assigned.size, 0) === parts;
    let deadline = Date.now() + 45_000;
    while (Date.now() < deadline && !stable()) await sleep(200);
    await sleep(500);
    const split = members.map((m) => m.assigned.size).join('/');
    check(stable(), `group never stable within 45 s (split ${split})`);
    if (process.env.INTEROP_DEBUG) console.error('stable at', Date.now());
    for (let p = 0; p < parts; p++) {
      kcat(['-P', '-b', bootstrap, '-t', topic, '-p', String(p), '-X', 'acks=-1'], Array.from({ length: perPartition }, (_, j) => `p${p}-${j}`).join('\n') + '\n');
    }
    const expected = parts * perPartition;
    const total = (): number => members.reduce((a, m) => a + m.values.length, 0);
    deadline = Date.now() + 60_000;
    while (total() < expected && Date.now() < deadline) await sleep(100);
    if (process.env.INTEROP_DEBUG) console.error('consumed', total(), 'at', Date.now());
    await sleep(1000); // a few auto-commit intervals
    await stopMembers(members);
    if (process.env.INTEROP_DEBUG) console.error('stopped at', Date.now());
    const seen = new Map<string, number>();
    const owners = new Map<number, Set<number>>();
    for (const [i, m] of members.entries()) {
      for (const v of m.values) {
        seen.set(v.payload, (seen.get(v.payload) ?? 0) + 1);
        if (!owners.has(v.partition)) owners.set(v.partition, new Set());
        owners.get(v.partition)!.add(i);
      }
    }
    check(seen.size === expected, `consumed ${seen.size} distinct of ${expected} (split ${split})`);
    for (const [v, count] of seen) check(count === 1, `${v} consumed ${count} times`);
    for (const [p, o] of owners) check(o.size === 1, `partition ${p} consumed by ${[...o].join(',')}`);
    const admin = new kafkajs.Kafka({ brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING, clientId: 'runnel-interop-kcat-setup' }).admin();
    await admin.connect();
    try {
      const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ps = offs[0]?.partitions ?? [];
      for (const p of ps) check(p.offset === String(perPartition), `committed offset partition ${p.partition} = ${p.offset}`);
      check(ps.length === parts, 'committed offsets missing');
    } finally {
      await admin.disconnect();
    }
    return `${expected} records exactly once over 3 kcat -G members, split ${split}, committed ${perPartition} per partition`;
  } finally {
    await stopMembers(members);
  }
}

function unsupported(what: string): () => Promise<string> {
  return async () => { throw new Unsupported(`kcat has no ${what}`); };
}

await main(CLIENT, {
  metadata, 'produce-consume': produceConsume, 'list-offsets': listOffsets,
  configs: unsupported('config admin API'), 'delete-records': unsupported('DeleteRecords'), group,
});
