// ApiVersions of two brokers side by side (e.g. Apache Kafka 4.4.0 and Runnel), one line per API key,
// marking the keys whose served range differs or that only one broker serves.
//   node --import tsx scripts/kafka/api-versions-diff.ts <kafka host:port> <runnel host:port>
import { exchange } from '../interop/kafka-wire.js';
import { Reader } from '../../src/protocol/reader.js';
import { decodeApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import { apiMessageSpec } from '../../src/protocol/generated/index.js';

async function versions(address: string): Promise<Map<number, [number, number]>> {
  const body = await exchange(address, 18, 0, Buffer.alloc(0));
  const response = decodeApiVersionsResponse(new Reader(body), 0);
  return new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as [number, number]]));
}

const [kafkaAddress, runnelAddress] = process.argv.slice(2);
if (kafkaAddress === undefined || runnelAddress === undefined) {
  console.error('usage: api-versions-diff.ts <kafka host:port> <runnel host:port>');
  process.exit(2);
}
const kafka = await versions(kafkaAddress);
const runnel = await versions(runnelAddress);
const range = (r: [number, number] | undefined): string => (r === undefined ? '-' : `${r[0]}-${r[1]}`);
let differing = 0;
for (const key of [...new Set([...kafka.keys(), ...runnel.keys()])].sort((a, b) => a - b)) {
  const k = kafka.get(key);
  const r = runnel.get(key);
  const mark = k === undefined ? 'runnel only' : r === undefined ? 'kafka only' : k[1] !== r[1] ? 'MAX DIFFERS' : k[0] !== r[0] ? 'min differs' : '';
  if (mark === 'MAX DIFFERS') differing++;
  const name = apiMessageSpec(key)?.name ?? '';
  console.log(`${String(key).padStart(3)} ${name.padEnd(28)} kafka ${range(k).padEnd(6)} runnel ${range(r).padEnd(6)} ${mark}`);
}
console.log(`${differing} API(s) served by both with a different max version`);
