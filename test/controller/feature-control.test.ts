// UpdateFeatures on the controller core (src/controller/feature-control.ts, Kafka's FeatureControlManager):
// validation in Kafka's order and words, the check against every registered broker's supported range,
// validate_only, the FeatureLevel record, and registration refused below / above the finalized level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { ControllerCore } from '../../src/controller/core.js';
import { planUpdateFeatures, UpgradeType, type FeatureUpdateInput } from '../../src/controller/feature-control.js';
import type { ControllerOutcomeOf, ControllerRequestOf, ControllerRequestType } from '../../src/controller/requests.js';
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from '../../src/metadata/image.js';
import type { BrokerFeatureRange, MetadataRecord } from '../../src/metadata/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const TV = 'transaction.version';
const RUNNEL_RANGE: BrokerFeatureRange[] = [{ name: TV, minSupportedVersion: 0, maxSupportedVersion: 2 }];

class Harness {
  image: MetadataImage = EMPTY_IMAGE;
  readonly core = new ControllerCore({ config: resolveConfig({}).config, nodeId: 7 });
  written: MetadataRecord[][] = [];

  send<K extends ControllerRequestType>(request: ControllerRequestOf<K>): ControllerOutcomeOf<K> {
    const decision = this.core.handle(request, this.image, 1000);
    if (decision.records.length > 0) {
      this.written.push([...decision.records]);
      this.image = applyRecords(this.image, decision.records, this.image.offset + 1).image;
    }
    return decision.outcome;
  }

  register(brokerId: number, features?: BrokerFeatureRange[], incarnationId = `inc-${brokerId}`): ControllerOutcomeOf<'registerBroker'> {
    return this.send<'registerBroker'>({
      type: 'registerBroker', brokerId, incarnationId, clusterId: 'c1', host: 'h', port: 9000 + brokerId, rack: null, ...(features ? { features } : {}),
    });
  }

  update(level: number, upgradeType: number = UpgradeType.UPGRADE, validateOnly = false, feature = TV): ControllerOutcomeOf<'updateFeatures'> {
    return this.send<'updateFeatures'>({ type: 'updateFeatures', updates: [{ feature, maxVersionLevel: level, upgradeType }], validateOnly });
  }
}

function errorOf(outcome: ControllerOutcomeOf<'updateFeatures'>): [number, string | null] {
  assert.ok(!outcome.ok, 'expected a refusal');
  return [outcome.errorCode, outcome.message];
}

const invalid = (level: number, why: string, feature = TV): [number, string] => [ErrorCode.INVALID_UPDATE_VERSION, `Invalid update version ${level} for feature ${feature}. ${why}`];

test('updateFeatures: upgrade writes one FeatureLevel record; the image finalizes it; validate_only writes nothing', () => {
  const h = new Harness();
  h.register(1, RUNNEL_RANGE);
  h.register(2, RUNNEL_RANGE);
  h.written = [];
  assert.deepEqual(h.update(2, UpgradeType.UPGRADE, true), { ok: true, value: null });
  assert.deepEqual(h.written, [], 'validate_only writes nothing');
  assert.equal(h.image.features.size, 0);
  assert.deepEqual(h.update(2), { ok: true, value: null });
  assert.deepEqual(h.written, [[{ type: 'FeatureLevel', name: TV, featureLevel: 2 }]]);
  assert.equal(h.image.features.get(TV), 2);
  // The level in force again is accepted and written again (Kafka does the same).
  assert.deepEqual(h.update(2), { ok: true, value: null });
  assert.equal(h.written.length, 2);
  // Safe and unsafe downgrades; level 0 removes the feature from the finalized map.
  assert.deepEqual(h.update(1, UpgradeType.SAFE_DOWNGRADE), { ok: true, value: null });
  assert.equal(h.image.features.get(TV), 1);
  assert.deepEqual(h.update(0, UpgradeType.UNSAFE_DOWNGRADE), { ok: true, value: null });
  assert.equal(h.image.features.has(TV), false);
});

test('updateFeatures: Kafka\'s errors in Kafka\'s order (upgrade type, negative level, local range, brokers, direction)', () => {
  const h = new Harness();
  h.register(1, RUNNEL_RANGE);
  assert.deepEqual(errorOf(h.update(2, 0)), invalid(2, 'The controller does not support the given upgrade type.'));
  assert.deepEqual(errorOf(h.update(-3, 9)), invalid(-3, 'The controller does not support the given upgrade type.'));
  assert.deepEqual(errorOf(h.update(-1)), invalid(-1, 'A feature version cannot be less than 0.'));
  assert.deepEqual(errorOf(h.update(3)), invalid(3, 'Local controller 7 only supports versions 0-2'));
  assert.deepEqual(errorOf(h.update(1, UpgradeType.SAFE_DOWNGRADE)), invalid(1, "Can't downgrade to a newer version."));
  assert.ok(h.update(2).ok);
  assert.deepEqual(errorOf(h.update(0)), invalid(0, "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade."));
  assert.deepEqual(errorOf(h.update(1, UpgradeType.UPGRADE, false, 'no.such.feature')), invalid(1, 'Local controller 7 does not support this feature.', 'no.such.feature'));
  assert.deepEqual(errorOf(h.update(0, UpgradeType.UPGRADE, false, 'no.such.feature')), invalid(0, 'Feature no.such.feature not found.', 'no.such.feature'));
  assert.equal(h.image.features.get(TV), 2, 'no refusal changed the level');
});

test('updateFeatures: every registered broker must support the level (one that named no range supports only 0), fenced or not', () => {
  const h = new Harness();
  h.register(1, RUNNEL_RANGE);
  h.register(2);
  assert.deepEqual(errorOf(h.update(1)), invalid(1, 'Broker 2 does not support this feature.'));
  // Broker 2 comes back (a new incarnation) with a narrower range.
  assert.ok(h.register(2, [{ name: TV, minSupportedVersion: 0, maxSupportedVersion: 1 }], 'inc-2b').ok);
  assert.deepEqual(errorOf(h.update(2)), invalid(2, 'Broker 2 only supports versions 0-1'));
  assert.ok(h.update(1).ok);
  assert.equal(h.image.features.get(TV), 1);
  // Level 0 is supported by everyone.
  assert.ok(h.update(0, UpgradeType.SAFE_DOWNGRADE).ok);
});

test('updateFeatures: all or nothing — one bad update in a request writes none', () => {
  const h = new Harness();
  h.register(1, RUNNEL_RANGE);
  const updates: FeatureUpdateInput[] = [
    { feature: TV, maxVersionLevel: 2, upgradeType: UpgradeType.UPGRADE },
    { feature: 'kraft.version', maxVersionLevel: 1, upgradeType: UpgradeType.UPGRADE },
  ];
  const plan = planUpdateFeatures(h.image, 7, updates);
  assert.deepEqual(plan, {
    ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION,
    message: 'Invalid update version 1 for feature kraft.version. Local controller 7 does not support this feature.',
  });
  assert.equal(h.send<'updateFeatures'>({ type: 'updateFeatures', updates, validateOnly: false }).ok, false);
  assert.equal(h.image.features.size, 0);
});

test('registerBroker: refused (UNSUPPORTED_VERSION) when the broker does not support a finalized level; its range is kept in the image', () => {
  const h = new Harness();
  assert.ok(h.register(1, RUNNEL_RANGE).ok);
  assert.deepEqual(h.image.brokers.get(1)?.supportedFeatures, RUNNEL_RANGE);
  assert.ok(h.update(2).ok);
  const old = h.register(2);
  assert.deepEqual(old, {
    ok: false, errorCode: ErrorCode.UNSUPPORTED_VERSION,
    message: 'Unable to register because the broker does not support finalized version 2 of transaction.version. The broker wants a version between 0 and 0, inclusive.',
  });
  assert.equal(h.image.brokers.has(2), false);
  assert.ok(h.register(2, RUNNEL_RANGE).ok);
});
