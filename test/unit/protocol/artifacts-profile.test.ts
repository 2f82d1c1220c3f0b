import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { parseArtifactsProfile } from '../../../src/protocol/schemas/artifacts-profile.js';

test('onHold as JSON bool or true/false string in any case; absent => false', () => {
  assert.equal(parseArtifactsProfile('{"onHold": true}').onHold, true);
  assert.equal(parseArtifactsProfile('{"onHold": false, "profileId": "x"}').onHold, false);
  assert.equal(parseArtifactsProfile('{"onHold": "TRUE"}').onHold, true);
  assert.equal(parseArtifactsProfile('{"onHold": "False"}').onHold, false);
  assert.equal(parseArtifactsProfile('\ufeff{"inVMArtifactsProfileBlobSeqNo": 1}').onHold, false);
});

test('anything else is a ProtocolError (callers then assume not on hold)', () => {
  for (const bad of ['{"onHold": "maybe"}', '{"onHold": 1}', 'not json', '[]']) {
    assert.throws(() => parseArtifactsProfile(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'WAA_PROTOCOL_PARSE', bad);
  }
});
