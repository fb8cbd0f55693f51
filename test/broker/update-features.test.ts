// UpdateFeatures (API 57) over the socket on a standalone node: transaction.version is finalized in the
// metadata log through the active controller (Kafka's FeatureControlManager rules and messages), ApiVersions
// reports the finalized level, the level survives a restart, and the `transaction.version` property is
// only the level a new cluster starts at. Every other feature stays at its one fixed level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { startHarness, type Harness, withHarness } from './standalone-harness.js';

const PREFIX = 'The update failed for all features since the following feature had an error: ';

interface Update { feature: string; maxVersionLevel: number; upgradeType?: number; allowDowngrade?: boolean }

async function update(h: Harness, version: number, updates: Update[], validateOnly = false) {
  return (await call(h.client, ApiKey.UpdateFeatures, version, {
    timeoutMs: 10_000, validateOnly,
    featureUpdates: updates.map((u) => ({ feature: u.feature, maxVersionLevel: u.maxVersionLevel, allowDowngrade: u.allowDowngrade ?? false, upgradeType: u.upgradeType ?? 1 })),
  })).body;
}

async function apiVersions(h: Harness) {
  return (await call(h.client, ApiKey.ApiVersions, 4, { clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 })).body;
}

async function finalizedTv(h: Harness): Promise<number | undefined> {
  return (await apiVersions(h)).finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel;
}


// These clusters start at 0 whatever the property's default is.
const AT_0 = { 'transaction.version': '0' };

test('UpdateFeatures: transaction.version upgrade, safe downgrade and disable are finalized in the metadata log; ApiVersions follows', async () => {
  await withHarness(AT_0, async (h) => {
    assert.equal(await finalizedTv(h), undefined, 'a new cluster with the property at 0 is at 0 (not finalized)');
    // validate_only checks and writes nothing.
    assert.deepEqual([(await update(h, 2, [{ feature: 'transaction.version', maxVersionLevel: 2 }], true)).errorCode], [ErrorCode.NONE]);
    assert.equal(await finalizedTv(h), undefined);

    const before = (await apiVersions(h)).finalizedFeaturesEpoch;
    const up = await update(h, 2, [{ feature: 'transaction.version', maxVersionLevel: 2 }]);
    assert.deepEqual([up.errorCode, up.errorMessage, up.results], [ErrorCode.NONE, null, []]);
    const after = await apiVersions(h);
    assert.equal(after.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel, 2);
    assert.ok(after.finalizedFeaturesEpoch > before, `epoch ${after.finalizedFeaturesEpoch} after ${before}`);
    assert.equal(h.node.loader.image.features.get('transaction.version'), 2);

    // A downgrade needs a downgrade type (FeatureControlManager.updateFeature).
    const refused = await update(h, 2, [{ feature: 'transaction.version', maxVersionLevel: 1 }]);
    assert.equal(refused.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
    assert.equal(refused.errorMessage, `${PREFIX}Invalid update version 1 for feature transaction.version. Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.`);
    // v1: per-feature results on success; the safe downgrade to 1 finalizes 1.
    const down = await update(h, 1, [{ feature: 'transaction.version', maxVersionLevel: 1, upgradeType: 2 }]);
    assert.deepEqual([down.errorCode, down.results.map((r) => [r.feature, r.errorCode, r.errorMessage])], [ErrorCode.NONE, [['transaction.version', ErrorCode.NONE, null]]]);
    assert.equal(await finalizedTv(h), 1);
    // A "downgrade" to a higher level is refused.
    const newer = await update(h, 2, [{ feature: 'transaction.version', maxVersionLevel: 2, upgradeType: 3 }]);
    assert.equal(newer.errorMessage, `${PREFIX}Invalid update version 2 for feature transaction.version. Can't downgrade to a newer version.`);
    // v0's AllowDowngrade is a safe downgrade; level 0 disables the feature (left out of FinalizedFeatures).
    const disabled = await update(h, 0, [{ feature: 'transaction.version', maxVersionLevel: 0, allowDowngrade: true }]);
    assert.equal(disabled.errorCode, ErrorCode.NONE);
    assert.equal(await finalizedTv(h), undefined);
    assert.equal(h.node.loader.image.features.has('transaction.version'), false);
  });
});

test('UpdateFeatures: Kafka\'s errors for unsupported levels, upgrade types, unknown and fixed features; a failing feature fails the whole request', async () => {
  await withHarness(AT_0, async (h) => {
    const nodeId = h.broker.nodeId;
    const message = async (updates: Update[], version = 2) => {
      const r = await update(h, version, updates);
      assert.deepEqual([r.errorCode, r.results], [ErrorCode.INVALID_UPDATE_VERSION, []]);
      return r.errorMessage;
    };
    assert.equal(await message([{ feature: 'transaction.version', maxVersionLevel: 3 }]),
      `${PREFIX}Invalid update version 3 for feature transaction.version. Local controller ${nodeId} only supports versions 0-2`);
    assert.equal(await message([{ feature: 'transaction.version', maxVersionLevel: -1 }]),
      `${PREFIX}Invalid update version -1 for feature transaction.version. A feature version cannot be less than 0.`);
    assert.equal(await message([{ feature: 'transaction.version', maxVersionLevel: 2, upgradeType: 4 }]),
      `${PREFIX}Invalid update version 2 for feature transaction.version. The controller does not support the given upgrade type.`);
    assert.equal(await message([{ feature: 'metadata.version', maxVersionLevel: 27, upgradeType: 2 }], 1),
      `${PREFIX}Invalid update version 27 for feature metadata.version. Local controller ${nodeId} only supports versions 33`);
    assert.equal(await message([{ feature: 'no.such.feature', maxVersionLevel: 1 }], 0),
      `${PREFIX}Invalid update version 1 for feature no.such.feature. Local controller ${nodeId} does not support this feature.`);
    assert.equal(await message([{ feature: 'no.such.feature', maxVersionLevel: 0 }]),
      `${PREFIX}Invalid update version 0 for feature no.such.feature. Feature no.such.feature not found.`);
    // All or nothing: a good transaction.version update beside a bad one is not written.
    await message([{ feature: 'transaction.version', maxVersionLevel: 2 }, { feature: 'kraft.version', maxVersionLevel: 1 }]);
    assert.equal(await finalizedTv(h), undefined);
    // The level in force of a fixed feature is accepted and changes nothing.
    assert.equal((await update(h, 1, [{ feature: 'metadata.version', maxVersionLevel: 33 }])).results[0]?.errorCode, ErrorCode.NONE);
  });
});

test('transaction.version property: the bootstrap level of a new cluster; a restart keeps the finalized level whatever the property says', async () => {
  const h = await startHarness({ 'transaction.version': '2' });
  let restarted: Harness | undefined;
  try {
    assert.equal(await finalizedTv(h), 2);
    assert.equal((await update(h, 2, [{ feature: 'transaction.version', maxVersionLevel: 1, upgradeType: 2 }])).errorCode, ErrorCode.NONE);
    assert.equal(await finalizedTv(h), 1);
    // Same data dir, property still 2: the metadata log (and its snapshot records) decide, not the property.
    restarted = await h.restart();
    assert.equal(await finalizedTv(restarted), 1);
  } finally {
    if (restarted !== undefined) await restarted.close();
    else await h.close();
  }
});
