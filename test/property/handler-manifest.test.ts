// HandlerManifest.json (parseHandlerManifest): generated manifests round-trip commands and flags; mutated and
// random text is parsed or refused with an ExtensionError (code 1003) naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExtCode, ExtensionError } from '../../src/errors.js';
import { parseHandlerManifest } from '../../src/extensions/manifest.js';
import { check, figures, parseOrReject, pick, randomText } from './arbitraries.js';
import { mutateJson, renderJson } from './documents.js';

const SOURCE = '/var/lib/waagent/Pub.Ext-1.0/HandlerManifest.json';
const OPS = ['install', 'uninstall', 'update', 'enable', 'disable'] as const;
const COMMANDS = ['bin/run.sh', 'python3 main.py --enable', 'scripts/x.sh "quoted arg"', 'ünï 💥', ''];
// [value in the file, boolean read, is a warning]
const FLAGS: readonly [unknown, boolean, boolean][] = [
  [true, true, false], [false, false, false], ['true', true, true], ['TRUE', true, true], ['no', false, true],
  [1, false, true], [null, false, false], [undefined, false, false],
];
const UPDATE_MODES: readonly [unknown, string | null, boolean][] = [
  [undefined, null, true], [null, null, true], ['UpdateWithInstall', 'UpdateWithInstall', true],
  ['updatewithinstall', 'updatewithinstall', true], ['UpdateWithoutInstall', 'UpdateWithoutInstall', false], [3, '3', false],
];

const manifestArb = fc.tuple(fc.nat(), fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), fc.nat(), fc.boolean()).map(([cmds, flags, mode, extra]) => {
  const hm: Record<string, unknown> = { rebootAfterInstall: false };
  const commands: Record<string, string> = {};
  OPS.forEach((op, i) => {
    const c = cmds >> (i * 3);
    if (c % 4 === 0) return; // left out
    const cmd = pick(COMMANDS, c >> 2);
    hm[`${op}Command`] = c % 8 === 1 ? 42 : cmd; // a non-string command is dropped
    if (c % 8 !== 1) commands[op] = cmd;
  });
  const names = ['reportHeartbeat', 'continueOnUpdateFailure', 'supportsMultipleExtensions'] as const;
  const read: Record<string, boolean> = {};
  let warnings = 0;
  names.forEach((name, i) => {
    const [value, bool, warn] = pick(FLAGS, flags[i]!);
    if (value !== undefined) hm[name] = value;
    read[name] = bool;
    if (warn) warnings++;
  });
  const [modeValue, updateMode, installOnUpdate] = pick(UPDATE_MODES, mode);
  if (modeValue !== undefined) hm.updateMode = modeValue;
  const entry: Record<string, unknown> = { version: 1.0, name: 'Pub.Ext', handlerManifest: hm };
  if (extra) Object.assign(entry, { resourceLimits: { services: [{ name: 'svc' }] }, signingInfo: { type: 'Ext', publisher: 'Pub' }, lifeCycle: 'x' });
  return {
    doc: [entry],
    expected: {
      commands, ...read, updateMode, installOnUpdate, warnings,
      resourceLimits: extra ? { services: [{ name: 'svc' }] } : null,
      signingInfo: extra ? { type: 'Ext', publisher: 'Pub' } : null,
    },
  };
});

test('generated HandlerManifest.json files round-trip commands and flags', (t) => {
  const ms = check(manifestArb, ({ doc, expected }) => {
    const m = parseHandlerManifest((expected.warnings % 2 === 0 ? '\uFEFF' : '') + renderJson(doc), SOURCE);
    assert.deepEqual({ ...m, warnings: m.warnings.length }, expected);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

function refusedOrParsed(text: string): void {
  const m = parseOrReject(() => parseHandlerManifest(text, SOURCE), ExtensionError, SOURCE);
  if (m === undefined) return;
  for (const cmd of Object.values(m.commands)) assert.equal(typeof cmd, 'string');
  for (const w of m.warnings) assert.ok(w.length > 0);
}

test('mutated HandlerManifest.json files are parsed or refused with an ExtensionError naming the file', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateJson(manifestArb.map((m) => m.doc)), refusedOrParsed))}`);
});

test('random text is parsed or refused with an ExtensionError naming the file', (t) => {
  t.diagnostic(`random: ${figures(check(randomText('{}[]":,\\ -.0123456789truefalsnhandlerManifest'), refusedOrParsed))}`);
});

test('a refused HandlerManifest.json carries the deserialization error code', () => {
  assert.throws(() => parseHandlerManifest('[{"handlerManifest": 5}]', SOURCE), (e: unknown) => {
    assert.ok(e instanceof ExtensionError);
    assert.equal(e.extCode, ExtCode.PluginHandlerManifestDeserializationError);
    return true;
  });
});
