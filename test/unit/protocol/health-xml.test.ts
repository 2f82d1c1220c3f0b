import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHealthReport, MAX_DESCRIPTION_CHARS } from '../../../src/protocol/health-xml.js';
import { findText, parseXml } from '../../../src/protocol/xml.js';

const ids = { incarnation: '3', containerId: 'c-1', roleInstanceId: 'r-1' };
const HEAD =
  '<?xml version="1.0" encoding="utf-8"?><Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
  '<GoalStateIncarnation>3</GoalStateIncarnation><Container><ContainerId>c-1</ContainerId><RoleInstanceList><Role><InstanceId>r-1</InstanceId>';
const TAIL = '</Role></RoleInstanceList></Container></Health>';

test('Ready without details', () => {
  assert.equal(buildHealthReport({ ...ids, state: 'Ready' }), `${HEAD}<Health><State>Ready</State></Health>${TAIL}`);
  // a description without a substatus is not sent
  assert.equal(buildHealthReport({ ...ids, state: 'Ready', description: 'x' }), `${HEAD}<Health><State>Ready</State></Health>${TAIL}`);
});

test('NotReady with substatus and description', () => {
  assert.equal(
    buildHealthReport({ ...ids, state: 'NotReady', substatus: 'Provisioning', description: 'Starting' }),
    `${HEAD}<Health><State>NotReady</State><Details><SubStatus>Provisioning</SubStatus><Description>Starting</Description></Details></Health>${TAIL}`,
  );
});

test('&, < and > are escaped and the result is well-formed', () => {
  const body = buildHealthReport({ ...ids, state: 'NotReady', substatus: 'A<B', description: 'x & y > "z"' });
  assert.ok(body.includes('<SubStatus>A&lt;B</SubStatus><Description>x &amp; y &gt; "z"</Description>'));
  const root = parseXml(body, 'Health');
  assert.equal(findText(root, 'Description'), 'x & y > "z"');
});

test(`description is cut to ${MAX_DESCRIPTION_CHARS} characters before escaping`, () => {
  const long = 'a'.repeat(MAX_DESCRIPTION_CHARS - 1) + '&&&';
  const body = buildHealthReport({ ...ids, state: 'NotReady', substatus: 'ProvisioningFailed', description: long });
  assert.ok(body.includes(`<Description>${'a'.repeat(MAX_DESCRIPTION_CHARS - 1)}&amp;</Description>`));
  // code points, not UTF-16 units: a 3686-emoji description is not split in a surrogate pair
  const emoji = '😀'.repeat(MAX_DESCRIPTION_CHARS + 5);
  const b2 = buildHealthReport({ ...ids, state: 'NotReady', substatus: 's', description: emoji });
  assert.equal(findText(parseXml(b2, 'Health'), 'Description'), '😀'.repeat(MAX_DESCRIPTION_CHARS));
});

test('a substatus without description sends an empty Description', () => {
  assert.ok(buildHealthReport({ ...ids, state: 'NotReady', substatus: 'Provisioning' }).includes('<Description></Description>'));
});
