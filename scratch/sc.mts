import { pino } from 'pino';
import { startCluster } from '../src/index.js';
const logger = pino({ level: 'debug' });
const t0 = Date.now();
const c = await startCluster({ nodes: 3, logger });
console.log('started', Date.now() - t0, c.bootstrapServers);
await c.close();
console.log('closed', Date.now() - t0);
