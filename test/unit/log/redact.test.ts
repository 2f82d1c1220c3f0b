import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, redactSecrets, redactValue } from '../../../src/log/redact.js';

const SIG = 'AbCdEf%2BgH%3D';

test('SAS URLs keep scheme, host and path; the query becomes <redacted>', () => {
  const url = `https://acct.blob.core.windows.net/$system/vm.status?sv=2018-03-28&sr=b&sk=system-1&sig=${SIG}&se=9999-01-01T00%3a00%3a00Z&sp=w`;
  assert.equal(redactSecrets(`Uploading to ${url} now`), 'Uploading to https://acct.blob.core.windows.net/$system/vm.status?<redacted> now');
  assert.equal(redactSecrets(`http://h/p?SIG=${SIG}`), 'http://h/p?<redacted>');
});

test('a SAS parameter anywhere in the query triggers redaction (upstream misses this case)', () => {
  assert.equal(redactSecrets(`https://h/b?comp=page&sv=1&sig=${SIG}`), 'https://h/b?<redacted>');
  assert.equal(redactSecrets(`https://h/b?restype=x&skoid=abc`), 'https://h/b?<redacted>');
});

test('URLs without SAS parameters are untouched', () => {
  const plain = 'GET http://127.0.0.1:32526/vmSettings?incarnation=2 and https://example.com/?q=sv';
  assert.equal(redactSecrets(plain), plain);
});

test('URL inside JSON and escaped JSON stops at the quote', () => {
  const j = `{"uri":"https://h/p?sv=1&sig=${SIG}","n":1}`;
  assert.equal(redactSecrets(j), '{"uri":"https://h/p?<redacted>","n":1}');
  const esc = `"{\\"uri\\":\\"https://h/p?sv=1&sig=${SIG}\\"}"`;
  assert.equal(redactSecrets(esc), '"{\\"uri\\":\\"https://h/p?<redacted>\\"}"');
});

test('bare sig= values are redacted, lookalike keys are not', () => {
  assert.equal(redactSecrets(`token sv=1&sig=${SIG}&se=2`), 'token sv=1&sig=<redacted>&se=2');
  assert.equal(redactSecrets(`SharedAccessSignature=sv=1&sig=${SIG};x`), 'SharedAccessSignature=sv=1&sig=<redacted>;x');
  assert.equal(redactSecrets('config=1 xsig=keep'), 'config=1 xsig=keep');
  assert.equal(redactSecrets(`XML sv=1&amp;sig=${SIG}&amp;se=2`), 'XML sv=1&amp;sig=<redacted>&amp;se=2');
});

test('storage AccountKey is redacted', () => {
  assert.equal(
    redactSecrets('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0Cg==;EndpointSuffix=x'),
    `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${REDACTED};EndpointSuffix=x`,
  );
});

test('PEM private keys are removed, other PEM blocks kept', () => {
  const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\nline2\n-----END RSA PRIVATE KEY-----';
  const cert = '-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----';
  const out = redactSecrets(`before\n${key}\n${cert}\nafter`);
  assert.ok(!out.includes('MIIEsecret') && !out.includes('line2'));
  assert.ok(out.includes(cert) && out.startsWith('before\n') && out.endsWith('\nafter'));
  assert.ok(out.includes(`-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----`));
  assert.equal(
    redactSecrets('-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----'),
    `-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----`,
  );
});

test('a truncated private key (no END line) hides everything after BEGIN', () => {
  const out = redactSecrets('x -----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFsecret\nmore');
  assert.ok(!out.includes('MIIFsecret') && !out.includes('more'));
  assert.ok(out.startsWith('x -----BEGIN ENCRYPTED PRIVATE KEY-----'));
});

test('protectedSettings values are redacted, the thumbprint key is not', () => {
  const j = '{"protectedSettingsCertThumbprint":"ABC123","protectedSettings":"MIIBsecret==","publicSettings":{"a":1}}';
  assert.equal(
    redactSecrets(j),
    `{"protectedSettingsCertThumbprint":"ABC123","protectedSettings":"${REDACTED}","publicSettings":{"a":1}}`,
  );
});

test('protectedSettings with spaces, escapes, objects, nesting and odd case', () => {
  assert.equal(redactSecrets('{"ProtectedSettings" :  "a\\"b\\\\"}'), `{"ProtectedSettings" :  "${REDACTED}"}`);
  assert.equal(
    redactSecrets('{"protectedSettings": {"k": "v}", "n": [1, {"x": "]"}]}, "after": 2}'),
    `{"protectedSettings": "${REDACTED}", "after": 2}`,
  );
  assert.equal(redactSecrets('{"protectedSettings": null}'), '{"protectedSettings": null}');
  // JSON carried inside a JSON string, and inside XML attributes.
  assert.equal(redactSecrets('"{\\"protectedSettings\\":\\"MIIsecret\\",\\"x\\":1}"'), `"{\\"protectedSettings\\":\\"${REDACTED}\\",\\"x\\":1}"`);
  assert.equal(redactSecrets('&quot;protectedSettings&quot;:&quot;MIIsecret&quot;'), `&quot;protectedSettings&quot;:&quot;${REDACTED}&quot;`);
  // Two occurrences; a truncated value hides the rest.
  const two = redactSecrets('[{"protectedSettings":"s1"},{"protectedSettings":"s2"}]');
  assert.ok(!two.includes('s1') && !two.includes('s2'));
  assert.equal(redactSecrets('{"protectedSettings":"MIIcut'), `{"protectedSettings":"${REDACTED}"`);
});

test('redaction is idempotent and leaves ordinary text alone', () => {
  const text = 'Enable extension: [bin/custom-script-shim enable] rc=0 a=b&c=d';
  assert.equal(redactSecrets(text), text);
  const once = redactSecrets(`https://h/p?sv=1&sig=${SIG} sig=${SIG} {"protectedSettings":"x"}`);
  assert.equal(redactSecrets(once), once);
});

test('redactValue scrubs nested fields, secret keys and errors', () => {
  const err = new Error(`failed https://h/p?sig=${SIG}`, { cause: new Error(`inner sig=${SIG}`) });
  const out = redactValue({ url: `https://h/p?sv=1&sig=${SIG}`, deep: { protectedSettings: { a: 1 } }, list: [`sig=${SIG}`], err }) as Record<string, unknown>;
  const text = JSON.stringify(out);
  assert.ok(!text.includes(SIG), text);
  assert.deepEqual((out.deep as Record<string, unknown>).protectedSettings, REDACTED);
  assert.equal((out.err as Record<string, unknown>).message, 'failed https://h/p?<redacted>');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.doesNotThrow(() => JSON.stringify(redactValue(cyclic)));
});
