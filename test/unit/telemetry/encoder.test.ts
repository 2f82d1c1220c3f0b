import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequests, encodeEvent, encodeParam, MAX_EVENT_BUFFER_BYTES, quoteAttr } from '../../../src/telemetry/encoder.js';
import { AGENT_PROVIDER_ID, LOG_PROVIDER_ID, type TelemetryEvent } from '../../../src/telemetry/event.js';

test('quoteAttr follows saxutils.quoteattr: escapes, then double quotes, single quotes, or &quot;', () => {
  assert.equal(quoteAttr('plain'), '"plain"');
  assert.equal(quoteAttr(''), '""');
  assert.equal(quoteAttr('a & b < c > d'), '"a &amp; b &lt; c &gt; d"');
  assert.equal(quoteAttr('line1\nline2\r\tend'), '"line1&#10;line2&#13;&#9;end"');
  assert.equal(quoteAttr('say "hi"'), `'say "hi"'`);
  assert.equal(quoteAttr(`it's`), `"it's"`);
  assert.equal(quoteAttr(`"it's"`), `"&quot;it's&quot;"`);
  // The CDATA terminator cannot survive: '>' is always escaped.
  assert.equal(quoteAttr(']]>'), '"]]&gt;"');
});

test('parameter types and texts: wstr, uint64, bool True/False, float64', () => {
  assert.equal(encodeParam({ name: 'Name', value: 'WALinuxAgent' }), '<Param Name="Name" Value="WALinuxAgent" T="mt:wstr" />');
  assert.equal(encodeParam({ name: 'Duration', value: 1234 }), '<Param Name="Duration" Value="1234" T="mt:uint64" />');
  assert.equal(encodeParam({ name: 'OperationSuccess', value: true }), '<Param Name="OperationSuccess" Value="True" T="mt:bool" />');
  assert.equal(encodeParam({ name: 'IsInternal', value: false }), '<Param Name="IsInternal" Value="False" T="mt:bool" />');
  assert.equal(encodeParam({ name: 'Value', value: 12.5 }), '<Param Name="Value" Value="12.5" T="mt:float64" />');
  assert.equal(encodeParam({ name: 'Value', value: 3, float: true }), '<Param Name="Value" Value="3.0" T="mt:float64" />');
  assert.equal(encodeParam({ name: 'KeywordName', value: '{"CpuArchitecture": "x86_64"}' }), `<Param Name="KeywordName" Value='{"CpuArchitecture": "x86_64"}' T="mt:wstr" />`);
});

test('characters XML forbids become U+FFFD (ANSI escapes in command output)', () => {
  assert.equal(encodeParam({ name: 'Message', value: '\u001b[31mred\u0000' }), '<Param Name="Message" Value="\uFFFD[31mred\uFFFD" T="mt:wstr" />');
});

test('an event is its params inside CDATA; a request wraps one provider', () => {
  const e: TelemetryEvent = {
    eventId: 1, providerId: AGENT_PROVIDER_ID, fileType: '',
    parameters: [{ name: 'Name', value: 'WALinuxAgent' }, { name: 'OperationSuccess', value: true }, { name: 'Message', value: 'a "b" & c' }],
  };
  const golden = `<Event id="1"><![CDATA[<Param Name="Name" Value="WALinuxAgent" T="mt:wstr" /><Param Name="OperationSuccess" Value="True" T="mt:bool" /><Param Name="Message" Value='a "b" &amp; c' T="mt:wstr" />]]></Event>`;
  assert.equal(encodeEvent(e), golden);
  const { requests, oversized } = buildRequests([e, e]);
  assert.equal(oversized.length, 0);
  assert.deepEqual(requests, [{
    providerId: AGENT_PROVIDER_ID, events: 2,
    body: `<?xml version="1.0"?><TelemetryData version="1.0"><Provider id="${AGENT_PROVIDER_ID}">${golden}${golden}</Provider></TelemetryData>`,
  }]);
});

function eventOfBytes(bytes: number, providerId = AGENT_PROVIDER_ID, tag = 'x'): TelemetryEvent {
  const empty = encodeEvent({ eventId: 1, providerId, fileType: '', parameters: [{ name: 'M', value: '' }] }).length;
  return { eventId: 1, providerId, fileType: '', parameters: [{ name: 'M', value: tag.repeat(bytes - empty) }] };
}

// upstream's MAX_EVENT_BUFFER_SIZE = 2 ** 16 - 2 ** 10 = 64 512 (the spec's "65 024" is a slip in the arithmetic).
test('the buffer is flushed before it would reach 64 512 bytes; an event reaching it alone is dropped', () => {
  assert.equal(MAX_EVENT_BUFFER_BYTES, 64_512);
  const half = eventOfBytes(32_256);
  assert.equal(Buffer.byteLength(encodeEvent(half)), 32_256);
  // Two halves make exactly the limit: the second goes to a new request (">=", as upstream).
  const r = buildRequests([half, half, eventOfBytes(100)]);
  assert.deepEqual(r.requests.map((x) => x.events), [1, 2]);
  const justUnder = buildRequests([eventOfBytes(32_255), eventOfBytes(32_256)]);
  assert.deepEqual(justUnder.requests.map((x) => x.events), [2]);
  const big = eventOfBytes(64_512);
  const r2 = buildRequests([big, eventOfBytes(64_511), half]);
  assert.equal(r2.oversized.length, 1);
  assert.equal(r2.oversized[0]!.bytes, 64_512);
  assert.deepEqual(r2.requests.map((x) => x.events), [1, 1]);
  for (const req of [...r.requests, ...r2.requests]) {
    const inner = req.body.slice(req.body.indexOf('<Event '), req.body.lastIndexOf('</Provider>'));
    assert.ok(Buffer.byteLength(inner) < 64_512);
  }
});

test('multi-byte characters count as UTF-8 bytes', () => {
  const e = eventOfBytes(40_000, AGENT_PROVIDER_ID, 'é'); // 2 bytes each: ~80 000 bytes
  assert.equal(buildRequests([e]).oversized.length, 1);
});

test('one request per provider, in order of first appearance', () => {
  const a = eventOfBytes(200, AGENT_PROVIDER_ID);
  const b = eventOfBytes(200, LOG_PROVIDER_ID);
  const r = buildRequests([a, b, a]);
  assert.deepEqual(r.requests.map((x) => [x.providerId, x.events]), [[AGENT_PROVIDER_ID, 2], [LOG_PROVIDER_ID, 1]]);
  assert.ok(r.requests[1]!.body.includes(`<Provider id="${LOG_PROVIDER_ID}">`));
});
