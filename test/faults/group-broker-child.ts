/**
 * A broker in its own process for the group fault tests: starts on argv[2] (data dir) with an
 * OS-chosen port, prints `READY <port>`, runs until SIGKILL (the test) or SIGTERM (clean close).
 */
import { startBroker } from '../../src/index.js';

const [dataDir] = process.argv.slice(2) as [string];
const broker = await startBroker({ dataDir, port: 0, 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 5 });
process.stdout.write(`READY ${broker.port}\n`);
process.on('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
