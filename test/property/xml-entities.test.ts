// Entity tricks against every WireServer XML parser: a DOCTYPE (billion laughs, external and parameter entities)
// is refused before anything is defined, expanded or fetched; undeclared entities stay as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProtocolError } from '../../src/errors.js';
import { parseXml, findText } from '../../src/protocol/xml.js';
import { parseGoalState } from '../../src/protocol/schemas/goal-state.js';
import { parseExtensionsConfig } from '../../src/protocol/schemas/extensions-config.js';
import { parseHostingEnvironment } from '../../src/protocol/schemas/hosting-env.js';
import { parseVersions } from '../../src/protocol/schemas/versions.js';
import { parseManifest } from '../../src/protocol/schemas/manifest.js';
import { parseCertificatesXml } from '../../src/protocol/schemas/certificates.js';

const PARSERS: [string, (xml: string) => unknown][] = [
  ['GoalState', parseGoalState],
  ['ExtensionsConfig', (x) => parseExtensionsConfig(x, '1')],
  ['HostingEnvironmentConfig', parseHostingEnvironment],
  ['Versions', parseVersions],
  ['manifest of Pub.Ext', (x) => parseManifest(x, 'manifest of Pub.Ext')],
  ['Certificates', parseCertificatesXml],
];

const LAUGHS =
  '<!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']>';

function tricks(url: string): [string, string][] {
  return [
    ['billion laughs', `<?xml version="1.0"?>${LAUGHS}<Root><Data>&lol9;</Data></Root>`],
    ['external entity', `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "${url}/xxe">]><Root><Data>&xxe;</Data></Root>`],
    ['external DTD', `<!DOCTYPE Root SYSTEM "${url}/dtd"><Root><Data>x</Data></Root>`],
    ['parameter entity', `<!DOCTYPE r [<!ENTITY % p SYSTEM "${url}/p"> %p;]><Root/>`],
    ['internal entity', '<!DOCTYPE r [<!ENTITY x "EXPANDED">]><Root><Data>&x;</Data></Root>'],
    ['DOCTYPE after a comment', '<!-- hi --><!DOCTYPE r [<!ENTITY x "EXPANDED">]><Root><Data>&x;</Data></Root>'],
    ['DOCTYPE inside an element', '<Root><!DOCTYPE r [<!ENTITY x "EXPANDED">]><Data>&x;</Data></Root>'],
    ['lower-case doctype', '<!doctype r [<!ENTITY x "EXPANDED">]><Root/>'],
  ];
}

test('a DOCTYPE is refused by every XML parser: nothing expanded, nothing fetched', async () => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end('<!ENTITY x "FETCHED">');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [doc, parse] of PARSERS) {
      for (const [name, xml] of tricks(url)) {
        assert.throws(
          () => parse(xml),
          (e: unknown) => {
            assert.ok(e instanceof ProtocolError, `${doc} / ${name}: ${String(e)}`);
            assert.equal(e.message, `Cannot parse ${doc} as it has a DOCTYPE declaration, which is not allowed`);
            return true;
          },
          `${doc} / ${name}`,
        );
      }
    }
    // Give a stray fetch the time to arrive before counting.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(requests, 0);
  } finally {
    server.close();
  }
});

test('undeclared entities stay as written; the five XML entities and character references are decoded', () => {
  const root = parseXml('<R><A>&x; &lol9; &nbsp; &amp;x; &lt;&gt;&quot;&apos; &#65;&#x42;&#x1F4A5; &#0; &#xD800; &#x110000;</A></R>', 'Doc');
  assert.equal(findText(root, 'A'), '&x; &lol9; &nbsp; &x; <>"\' AB💥 &#0; &#xD800; &#x110000;');
  assert.equal(findText(parseXml('<R><A>&amp;lt;</A></R>', 'Doc'), 'A'), '&lt;', 'decoded once, never twice');
});

test('DOCTYPE text in CDATA or a comment is data, not a declaration', () => {
  const root = parseXml('<R><!-- <!DOCTYPE x> --><A><![CDATA[<!DOCTYPE html> &x;]]></A></R>', 'Doc');
  assert.equal(findText(root, 'A'), '<!DOCTYPE html> &x;');
});

test('the parser limits surface as a named ProtocolError: deep nesting, reserved names', () => {
  for (const [xml, detail] of [
    ['<a>'.repeat(5000) + '</a>'.repeat(5000), /Maximum nested tags exceeded/],
    ['<__proto__><x/></__proto__>', /reserved/],
  ] as const) {
    assert.throws(() => parseXml(xml, 'Doc'), (e: unknown) => e instanceof ProtocolError && /^Cannot parse Doc as malformed XML/.test(e.message) && detail.test(e.message));
  }
});

test('malformed XML is located without echoing document text (a settings value may be there)', () => {
  const secret = 'MIIBsecretPROTECTEDsettings';
  const xml = `<Extensions><Plugin seqNo="0">{"protectedSettings":"${secret}"}</Plugin><X ${secret}="1" ${secret}/></Extensions>`;
  assert.throws(
    () => parseExtensionsConfig(xml, '1'),
    (e: unknown) => e instanceof ProtocolError && /line 1, column \d+: invalid attribute/.test(e.message) && !e.message.includes(secret),
  );
});
