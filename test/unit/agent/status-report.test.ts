import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildVmStatus,
  formatStatusTimestamp,
  type HandlerStatusEntry,
  serializeVmStatus,
  type VmStatusInput,
} from '../../../src/agent/status-report.js';
import type { ExtensionStatusResult } from '../../../src/extensions/status-file.js';

const NOW = Date.UTC(2025, 0, 15, 10, 20, 36, 789);
const GS_TIME = Date.UTC(2025, 0, 15, 10, 20, 31, 5);

const cseStatus: ExtensionStatusResult = {
  name: 'Microsoft.Azure.Extensions.CustomScript',
  sequenceNumber: 0,
  status: 'success',
  code: 0,
  message: 'Enable succeeded',
  operation: 'Enable',
  configurationAppliedTime: '2025-01-15T10:20:29Z',
  substatus: [{ name: 'StdOut', status: 'success', code: 0, message: 'hello' }],
  outcome: 'ok',
  problem: null,
};

const mcStatus: ExtensionStatusResult = {
  name: 'MCExt1',
  sequenceNumber: 0,
  status: 'transitioning',
  code: 0,
  message: 'No status yet',
  operation: null,
  configurationAppliedTime: null,
  substatus: [],
  outcome: 'missing',
  problem: 'missing',
};

const handlers: HandlerStatusEntry[] = [
  {
    name: 'Microsoft.Azure.Extensions.CustomScript',
    version: '2.1.6',
    status: 'Ready',
    code: 0,
    message: 'Plugin enabled',
    supportsMultiConfig: false,
    extensionStatus: cseStatus,
  },
  {
    name: 'Microsoft.CPlat.Core.RunCommandHandlerLinux',
    version: '1.2.0',
    status: 'Ready',
    code: 0,
    message: 'Plugin enabled',
    supportsMultiConfig: true,
    extensionStatus: mcStatus,
  },
  {
    name: 'Test.NoSettings',
    version: '1.0',
    status: 'NotReady',
    code: 1009,
    message: null,
    supportsMultiConfig: false,
    extensionStatus: null,
  },
];

const input: VmStatusInput = {
  now: NOW,
  agentVersion: '2.15.0.1',
  handlers,
  goalState: { inSvdSeqNo: '1', status: 'Success', code: 0, message: 'GoalState executed successfully', processedAt: GS_TIME },
  osInfo: { computerName: 'myvm', osName: 'ubuntu', osVersion: '22.04' },
  versioningGovernance: true,
  fastTrack: true,
};

// Hand-written: what WALinuxAgent's json.dumps(vm_status_to_v1(...)) prints for the same data.
const GOLDEN =
  '{"version": "1.1", "timestampUTC": "2025-01-15T10:20:36Z", "aggregateStatus": {' +
  '"guestAgentStatus": {"version": "2.15.0.1", "status": "Ready", "formattedMessage": {"lang": "en-US", "message": "Guest Agent is running"}}, ' +
  '"handlerAggregateStatus": [' +
  '{"handlerVersion": "2.1.6", "handlerName": "Microsoft.Azure.Extensions.CustomScript", "status": "Ready", "code": 0, "useExactVersion": true, ' +
  '"formattedMessage": {"lang": "en-US", "message": "Plugin enabled"}, ' +
  '"runtimeSettingsStatus": {"settingsStatus": {"status": {"name": "Microsoft.Azure.Extensions.CustomScript", ' +
  '"configurationAppliedTime": "2025-01-15T10:20:29Z", "operation": "Enable", "status": "success", "code": 0, ' +
  '"formattedMessage": {"lang": "en-US", "message": "Enable succeeded"}, ' +
  '"substatus": [{"name": "StdOut", "status": "success", "code": 0, "formattedMessage": {"lang": "en-US", "message": "hello"}}]}, ' +
  '"version": 1.0, "timestampUTC": "2025-01-15T10:20:36Z"}, "sequenceNumber": 0}}, ' +
  '{"handlerVersion": "1.2.0", "handlerName": "Microsoft.CPlat.Core.RunCommandHandlerLinux", "status": "Ready", "code": 0, "useExactVersion": true, ' +
  '"formattedMessage": {"lang": "en-US", "message": "Plugin enabled"}, ' +
  '"runtimeSettingsStatus": {"settingsStatus": {"status": {"name": "MCExt1", "configurationAppliedTime": null, "operation": null, ' +
  '"status": "transitioning", "code": 0, "formattedMessage": {"lang": "en-US", "message": "No status yet"}}, ' +
  '"version": 1.0, "timestampUTC": "2025-01-15T10:20:36Z"}, "sequenceNumber": 0, "extensionName": "MCExt1"}}, ' +
  '{"handlerVersion": "1.0", "handlerName": "Test.NoSettings", "status": "NotReady", "code": 1009, "useExactVersion": true}], ' +
  '"vmArtifactsAggregateStatus": {"goalStateAggregateStatus": {"formattedMessage": {"lang": "en-US", "message": "GoalState executed successfully"}, ' +
  '"timestampUTC": "2025-01-15T10:20:31Z", "inSvdSeqNo": "1", "status": "Success", "code": 0}}}, ' +
  '"guestOSInfo": {"computerName": "myvm", "osName": "ubuntu", "osVersion": "22.04", "version": "2.15.0.1"}, ' +
  '"supportedFeatures": [{"Key": "MultipleExtensionsPerHandler", "Value": "1.0"}, {"Key": "VersioningGovernance", "Value": "1.0"}, {"Key": "FastTrack", "Value": "1.0"}]}';

test('full status blob matches the golden byte for byte', () => {
  assert.equal(serializeVmStatus(buildVmStatus(input)), GOLDEN);
});

test('before any goal state: no vmArtifactsAggregateStatus; only the MultiConfig feature by default', () => {
  const json = serializeVmStatus(
    buildVmStatus({ ...input, handlers: [], goalState: null, versioningGovernance: false, fastTrack: false }),
  );
  assert.equal(
    json,
    '{"version": "1.1", "timestampUTC": "2025-01-15T10:20:36Z", "aggregateStatus": {' +
      '"guestAgentStatus": {"version": "2.15.0.1", "status": "Ready", "formattedMessage": {"lang": "en-US", "message": "Guest Agent is running"}}, ' +
      '"handlerAggregateStatus": []}, ' +
      '"guestOSInfo": {"computerName": "myvm", "osName": "ubuntu", "osVersion": "22.04", "version": "2.15.0.1"}, ' +
      '"supportedFeatures": [{"Key": "MultipleExtensionsPerHandler", "Value": "1.0"}]}',
  );
});

test('updateStatus appears in RSM mode after formattedMessage', () => {
  const obj = buildVmStatus({
    ...input,
    updateStatus: { expectedVersion: '2.15.0.1', status: 'Error', code: 1, message: 'Failed to download' },
  });
  assert.ok(
    serializeVmStatus(obj).includes(
      '"formattedMessage": {"lang": "en-US", "message": "Guest Agent is running"}, ' +
        '"updateStatus": {"expectedVersion": "2.15.0.1", "status": "Error", "code": 1, "formattedMessage": {"lang": "en-US", "message": "Failed to download"}}}',
    ),
  );
});

test('messages are SAS-redacted and non-ASCII is escaped; null messages stay null', () => {
  const sas = 'download from https://acct.blob.core.windows.net/c/p.zip?sv=2018-03-28&sr=b&sig=TOPSECRET failed';
  const ext: ExtensionStatusResult = {
    ...cseStatus,
    message: `${sas} – é`,
    code: '7',
    substatus: [{ name: 'StdErr', status: 'error', code: 0, message: null }],
  };
  const json = serializeVmStatus(
    buildVmStatus({ ...input, handlers: [{ ...handlers[0]!, message: sas, extensionStatus: ext }], goalState: null }),
  );
  assert.ok(!json.includes('TOPSECRET'), json);
  assert.ok(json.includes('\\u2013 \\u00e9'), json);
  assert.ok(json.includes('"code": "7"'), json);
  assert.ok(json.includes('{"name": "StdErr", "status": "error", "code": 0, "formattedMessage": {"lang": "en-US", "message": null}}'), json);
  assert.ok(/^[\x20-\x7e]*$/.test(json));
});

test('timestamps drop the fraction', () => {
  assert.equal(formatStatusTimestamp(Date.UTC(2025, 11, 31, 23, 59, 59, 999)), '2025-12-31T23:59:59Z');
});

test('the agent version defaults to ours', () => {
  const obj = buildVmStatus({ ...input, agentVersion: undefined }) as { guestOSInfo: { version: string } };
  assert.match(obj.guestOSInfo.version, /^\d+\.\d+\.\d+/);
});
