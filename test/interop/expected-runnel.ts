// What Runnel is expected to pass today, per client: the CI interop test (runnel.test.ts) asserts
// exactly these cells against a Runnel started in the test. Grow this list as features land; a cell
// that starts passing in `npm run interop -- --broker runnel` belongs here.
import type { Scenario } from './clients.js';

export const RUNNEL_EXPECTED: Record<string, readonly Scenario[]> = {
  java: ['metadata'],
  kcat: ['metadata'],
  'confluent-js': ['metadata'],
  'franz-go': ['metadata'],
  kafkajs: ['metadata'],
  platformatic: ['metadata'],
  'kafka-python': ['metadata'],
};
