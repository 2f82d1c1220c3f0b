import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASIC, getText, goalStateUrls, parseXml, sampleScenario, withEmulator } from './helpers.js';

test('versions advertises 2012-11-30 as preferred', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const r = await getText(`${emu.wireUrl}/?comp=versions`);
    assert.equal(r.status, 200);
    const v = parseXml(r.text).Versions;
    assert.equal(v.Preferred.Version, '2012-11-30');
    assert.ok(Array.isArray(v.Supported.Version));
  });
});

test('goal state carries identity and configuration URLs pointing back at the emulator', async () => {
  await withEmulator(sampleScenario({ incarnation: 7, containerId: 'c-1' }), async (emu) => {
    const r = await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC);
    assert.equal(r.status, 200);
    const gs = parseXml(r.text).GoalState;
    assert.equal(gs.Incarnation, '7');
    assert.equal(gs.Container.ContainerId, 'c-1');
    const ri = gs.Container.RoleInstanceList.RoleInstance;
    assert.equal(ri.InstanceId, emu.goalState().roleInstanceId);
    const cfg = ri.Configuration;
    assert.equal(cfg.ConfigName, emu.goalState().configName);
    for (const key of ['HostingEnvironmentConfig', 'SharedConfig', 'ExtensionsConfig', 'FullConfig', 'Certificates']) {
      assert.ok(String(cfg[key]).startsWith(`${emu.wireUrl}/machine/`), key);
      assert.match(String(cfg[key]), /incarnation=7$/);
    }
    assert.match(cfg.ExtensionsConfig, /comp=config&type=extensionsConfig&/);
    assert.match(cfg.Certificates, /comp=certificates&/);
  });
});

test('goal state requires the x-ms-version header', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const r = await getText(`${emu.wireUrl}/machine/?comp=goalstate`);
    assert.equal(r.status, 400);
    assert.match(r.text, /MissingRequiredHeader/);
  });
});

test('config documents are served with the fields the agent reads', async () => {
  await withEmulator(sampleScenario({ vmName: 'vm1', roleName: 'Role1' }), async (emu) => {
    const urls = await goalStateUrls(emu);
    const he = parseXml((await getText(urls.HostingEnvironmentConfig as string, BASIC)).text).HostingEnvironmentConfig;
    assert.equal(he.Incarnation['@instance'], 'vm1');
    assert.equal(he.Role['@name'], 'Role1');
    assert.ok(he.Deployment['@name']);
    const shared = await getText(urls.SharedConfig as string, BASIC);
    assert.equal(shared.status, 200);
    assert.ok(parseXml(shared.text).SharedConfig);
    const certs = await getText(urls.Certificates as string, { ...BASIC, 'x-ms-guest-agent-public-x509-cert': 'MIIB', 'x-ms-cipher-name': 'AES128_CBC' });
    assert.equal(certs.status, 200);
    assert.equal(parseXml(certs.text).CertificateFile.Data, undefined);
    const noCert = await getText(urls.Certificates as string, BASIC);
    assert.equal(noCert.status, 400);
  });
});

test('ExtensionsConfig lists plugins, settings, status blob and metadata', async () => {
  await withEmulator(sampleScenario({ statusBlobType: 'PageBlob', requiredFeatures: ['MultipleExtensionsPerHandler'] }), async (emu) => {
    const urls = await goalStateUrls(emu);
    const r = await getText(urls.ExtensionsConfig as string, BASIC);
    assert.equal(r.status, 200);
    const ext = parseXml(r.text).Extensions;
    assert.equal(ext.GuestAgentExtension.GAFamilies.GAFamily.Name, 'Prod');
    assert.equal(ext.RequiredFeatures.RequiredFeature.Name, 'MultipleExtensionsPerHandler');
    const plugin = ext.Plugins.Plugin;
    assert.equal(plugin['@name'], 'Test.Sample');
    assert.equal(plugin['@version'], '1.0.0');
    assert.equal(plugin['@state'], 'enabled');
    assert.match(plugin['@location'], /\/repo\/primary\/Test\.Sample\/manifest\.xml$/);
    assert.match(plugin['@failoverlocation'], /\/repo\/failover\/Test\.Sample\/manifest\.xml$/);
    const settings = ext.PluginSettings.Plugin;
    assert.equal(settings['@name'], 'Test.Sample');
    assert.equal(settings.RuntimeSettings['@seqNo'], '3');
    assert.deepEqual(JSON.parse(settings.RuntimeSettings['#text']), {
      runtimeSettings: [{ handlerSettings: { publicSettings: { message: 'hi & <bye>' } } }],
    });
    assert.equal(ext.StatusUploadBlob['@statusBlobType'], 'PageBlob');
    const sas = new URL(ext.StatusUploadBlob['#text']);
    assert.equal(sas.searchParams.get('sr'), 'b');
    assert.equal(sas.searchParams.get('sp'), 'w');
    assert.ok(sas.searchParams.get('sig'));
    assert.equal(ext.StatusUploadBlob['#text'], emu.goalState().statusBlobUrl);
    assert.equal(ext.InVMGoalStateMetaData['@inSvdSeqNo'], '1');
    assert.match(ext.InVMGoalStateMetaData['@createdOnTicks'], /^\d{18}$/);
  });
});

test('publish bumps the incarnation and old document URLs answer 410', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const before = await goalStateUrls(emu);
    const firstExt = parseXml((await getText(before.ExtensionsConfig as string, BASIC)).text).Extensions;
    assert.equal(emu.publish({ extensions: [] }), 2);
    const gs = parseXml((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).text).GoalState;
    assert.equal(gs.Incarnation, '2');
    assert.equal((await getText(before.ExtensionsConfig as string, BASIC)).status, 410);
    const after = await goalStateUrls(emu);
    const ext = parseXml((await getText(after.ExtensionsConfig as string, BASIC)).text).Extensions;
    assert.equal(ext.Plugins, '');
    assert.ok(BigInt(ext.InVMGoalStateMetaData['@createdOnTicks']) > BigInt(firstExt.InVMGoalStateMetaData['@createdOnTicks']));
    assert.equal(emu.publish({ incarnation: 10 }), 10);
  });
});

test('goal state override serves malformed XML until cleared', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    emu.setGoalStateXmlOverride('<GoalState><Incarnation>1');
    assert.equal((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).text, '<GoalState><Incarnation>1');
    emu.setGoalStateXmlOverride(null);
    assert.match((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).text, /<ContainerId>/);
  });
});

test('health reports, telemetry and HealthService posts are recorded', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const xmlPost = { ...BASIC, 'Content-Type': 'text/xml;charset=utf-8' };
    const health =
      '<?xml version="1.0" encoding="utf-8"?><Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><GoalStateIncarnation>1</GoalStateIncarnation>' +
      '<Container><ContainerId>c</ContainerId><RoleInstanceList><Role><InstanceId>i</InstanceId><Health><State>NotReady</State>' +
      '<Details><SubStatus>Provisioning</SubStatus><Description>Starting &amp; more</Description></Details></Health></Role></RoleInstanceList></Container></Health>';
    const h = await fetch(`${emu.wireUrl}/machine?comp=health`, { method: 'POST', headers: xmlPost, body: health });
    assert.equal(h.status, 200);
    const rep = emu.state.healthReports()[0];
    assert.equal(rep?.state, 'NotReady');
    assert.equal(rep?.substatus, 'Provisioning');
    assert.equal(rep?.description, 'Starting & more');
    const bad = await fetch(`${emu.wireUrl}/machine?comp=health`, { method: 'POST', headers: xmlPost, body: '<Health><oops>' });
    assert.equal(bad.status, 400);
    const tel = '<?xml version="1.0"?><TelemetryData version="1.0"><Provider id="69B669B9-4AF8-4C50-BDC4-6006FA76E975"><Event id="1"><![CDATA[<Param Name="Name" Value="WALinuxAgent" T="mt:wstr" />]]></Event></Provider></TelemetryData>';
    assert.equal((await fetch(`${emu.wireUrl}/machine?comp=telemetrydata`, { method: 'POST', headers: xmlPost, body: tel })).status, 200);
    assert.deepEqual(emu.state.telemetry()[0]?.providerIds, ['69B669B9-4AF8-4C50-BDC4-6006FA76E975']);
    assert.equal(emu.state.telemetry()[0]?.eventCount, 1);
    const hs = await fetch(`${emu.wireUrl}/HealthService`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"Api":"reporttargethealth"}' });
    assert.equal(hs.status, 200);
    assert.deepEqual(emu.state.healthService()[0]?.body, { Api: 'reporttargethealth' });
    const recorded = emu.state.requests({ path: '/machine?comp=health' });
    assert.deepEqual(recorded.map((r) => r.status), [200, 400]);
    assert.equal(recorded[0]?.headers['x-ms-version'], '2012-11-30');
  });
});
