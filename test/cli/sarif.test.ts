import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import Ajv from 'ajv-draft-04';
import { writeSession } from '../support/githubFixtures';
import { tempDir } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
/** SARIF 2.1.0's JSON schema as published (schemastore's sarif-2.1.0-rtm.5.json, draft-04), shipped by @microsoft/jest-sarif. */
const SCHEMA = path.resolve(__dirname, '../../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface SarifResult {
  ruleId: string;
  level: string;
  message: { text: string };
  partialFingerprints: Record<string, string>;
  locations?: { physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region?: { startLine: number } } }[];
  properties: { session_id: string };
}

/** A folder with findings of several kinds: interrupted turns, an open turn, a malformed line, a torn tail. */
function folder(): string {
  const dir = tempDir('bma-sarif-');
  writeSession(dir, 'alpha', 7);
  writeSession(dir, 'beta', 3);
  const shard = path.join(dir, '_turn_journal', 'beta~4242.jsonl');
  fs.appendFileSync(shard, 'this is not an event\n{"version":1,"event":"worker_started","session_id":"beta"');
  return dir;
}

describe('audit --format sarif, --since, --changed-since', function () {
  this.timeout(60_000);

  it('writes SARIF 2.1.0 that validates against the official schema: one result per finding, shard + line, stable fingerprints', () => {
    const dir = folder();
    const json = JSON.parse(run('audit', dir, '--json', '--fail-on', 'never', '--now', '1767300000').stdout) as {
      sessions: { session_id: string; findings: { kind: string; severity: string; shard?: string; line?: number }[] }[];
    };
    const r = run('audit', dir, '--format', 'sarif', '--fail-on', 'never', '--now', '1767300000');
    assert.strictEqual(r.code, 0, r.stderr);
    const sarif = JSON.parse(r.stdout);
    // unicodeRegExp off: the published schema's `language` pattern has a stray "]" that only a non-unicode RegExp accepts.
    // The schema's formats, checked (without them ajv ignores each one with a warning).
    const isUrl = (s: string, base?: string) => {
      try {
        return Boolean(new URL(s, base));
      } catch {
        return false;
      }
    };
    const formats = {
      uri: (s: string) => isUrl(s),
      'uri-reference': (s: string) => isUrl(s, 'file:///'),
      'date-time': (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
    };
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, formats });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, 'utf8')));
    assert.ok(validate(JSON.parse(r.stdout)), JSON.stringify(validate.errors, null, 1));
    // The schema must be able to fail: a result without a message is rejected.
    const broken = JSON.parse(r.stdout);
    delete broken.runs[0].results[0].message;
    assert.strictEqual(validate(broken), false);
    // And its formats are checked: a tool's informationUri that is not a URI is rejected.
    const badUri = JSON.parse(r.stdout);
    badUri.runs[0].tool.driver.informationUri = 'not a uri';
    assert.strictEqual(validate(badUri), false);

    const findings = json.sessions.flatMap((s) => s.findings.map((f) => ({ ...f, session: s.session_id })));
    const results = sarif.runs[0].results as SarifResult[];
    assert.ok(findings.length >= 3, `findings: ${findings.map((f) => f.kind).join(', ')}`);
    assert.strictEqual(results.length, findings.length);
    const level = { error: 'error', warning: 'warning', info: 'note' } as Record<string, string>;
    findings.forEach((f, i) => {
      assert.strictEqual(results[i].ruleId, f.kind);
      assert.strictEqual(results[i].level, level[f.severity]);
      assert.strictEqual(results[i].properties.session_id, f.session);
    });
    const malformed = results.find((x) => x.ruleId === 'malformed_line')!;
    assert.deepStrictEqual(malformed.locations![0].physicalLocation, {
      artifactLocation: { uri: '_turn_journal/beta~4242.jsonl', uriBaseId: 'SESSIONS' },
      region: { startLine: 11 },
    }); // 10 event lines, then the bad one
    assert.strictEqual(sarif.runs[0].originalUriBaseIds.SESSIONS.uri, 'file://' + fs.realpathSync(dir) + '/');
    const rules = sarif.runs[0].tool.driver.rules.map((x: { id: string }) => x.id);
    assert.deepStrictEqual(rules, [...new Set(findings.map((f) => f.kind))].sort());
    const fps = results.map((x) => x.partialFingerprints['botMemoryFinding/v1']);
    assert.strictEqual(new Set(fps).size, fps.length, 'one fingerprint per finding');

    // Stable across runs: the same bytes; and a new session does not move the others' fingerprints.
    assert.strictEqual(run('audit', dir, '--format', 'sarif', '--fail-on', 'never', '--now', '1767300000').stdout, r.stdout);
    writeSession(dir, 'gamma', 6);
    const later = JSON.parse(run('audit', dir, '--format', 'sarif', '--fail-on', 'never', '--now', '1767400000').stdout);
    const laterFps = new Set((later.runs[0].results as SarifResult[]).map((x) => x.partialFingerprints['botMemoryFinding/v1']));
    for (const fp of fps) assert.ok(laterFps.has(fp), 'an old finding keeps its fingerprint');
    // --fail-on still gates: the malformed line is an error.
    assert.strictEqual(run('audit', dir, '--format', 'sarif', '--now', '1767300000').code, 1);
  });

  it("hermes' own audit items about sessions without a journal are SARIF results at their file and gate --fail-on (not in a --session run)", () => {
    const dir = tempDir('bma-sarif-');
    writeSession(dir, 'alpha', 7);
    const now = ['--now', '1767300000'];
    const gate = (...args: string[]) => run('audit', dir, ...now, ...args).code;
    assert.strictEqual(gate('--fail-on', 'error'), 0, "the sessions' own findings stay below error");
    const msgs = (n: number) => JSON.stringify({ session_id: 'gamma', messages: Array.from({ length: n }, (_, i) => ({ role: 'user', content: `m${i}` })) });
    fs.writeFileSync(path.join(dir, 'gamma.json'), msgs(1)); // shrunk against its backup, no journal: messages were lost
    fs.writeFileSync(path.join(dir, 'gamma.json.bak'), msgs(3));
    fs.writeFileSync(path.join(dir, 'delta.json.bak'), msgs(2)); // a backup without a sidecar
    const sarif = JSON.parse(run('audit', dir, '--format', 'sarif', '--fail-on', 'never', ...now).stdout);
    const results = sarif.runs[0].results as SarifResult[];
    const shrunk = results.find((r) => r.ruleId === 'shrunken_live');
    assert.ok(shrunk, results.map((r) => r.ruleId).join(', '));
    assert.strictEqual(shrunk.level, 'error');
    assert.strictEqual(shrunk.properties.session_id, 'gamma');
    assert.deepStrictEqual(shrunk.locations?.[0].physicalLocation.artifactLocation, { uri: 'gamma.json', uriBaseId: 'SESSIONS' });
    const orphan = results.find((r) => r.properties.session_id === 'delta');
    assert.strictEqual(orphan?.locations?.[0].physicalLocation.artifactLocation.uri, 'delta.json.bak');
    const rules = sarif.runs[0].tool.driver.rules as { id: string }[];
    assert.strictEqual(rules[(shrunk as unknown as { ruleIndex: number }).ruleIndex].id, 'shrunken_live');
    assert.strictEqual(gate('--fail-on', 'error'), 1, 'the shrunk sidecar is an error');
    assert.strictEqual(gate('--fail-on', 'error', '--session', 'alpha'), 0, 'a run about one session is not failed by another');
    const text = run('audit', dir, ...now, '--fail-on', 'never').stdout;
    assert.match(text, /shrunken_live\s+gamma/);
    fs.rmSync(path.join(dir, 'gamma.json.bak'));
    assert.strictEqual(gate('--fail-on', 'error'), 0, "fixed: the exit code is the sessions' own again");
    assert.strictEqual(gate('--fail-on', 'warning'), 1, 'the orphan backup is a warning');
  });

  it('--changed-since reads only changed sessions, reuses the last report of the others, and keeps its state file 0600', () => {
    const dir = folder();
    const state = path.join(tempDir('bma-state-'), 'audit-state.json');
    const first = run('audit', dir, '--format', 'sarif', '--fail-on', 'never', '--changed-since', state, '--now', '1767300000');
    assert.strictEqual(first.code, 0, first.stderr);
    assert.strictEqual(fs.statSync(state).mode & 0o777, 0o600);
    // Mark alpha's stored report: if alpha is not read again, the marker shows up in the output.
    const s = JSON.parse(fs.readFileSync(state, 'utf8'));
    s.sessions.alpha.report.findings[0].message = 'MARKER from the state file';
    fs.writeFileSync(state, JSON.stringify(s), { mode: 0o644 });
    fs.chmodSync(state, 0o644);
    // beta changes (a new malformed line): it is read again.
    fs.appendFileSync(path.join(dir, '_turn_journal', 'beta~4242.jsonl'), '\nanother bad line\n');
    const second = JSON.parse(run('audit', dir, '--format', 'sarif', '--fail-on', 'never', '--changed-since', state, '--now', '1767300000').stdout);
    const results = second.runs[0].results as SarifResult[];
    assert.ok(
      results.some((x) => x.message.text === 'MARKER from the state file'),
      'alpha reused from the state',
    );
    assert.ok(results.filter((x) => x.properties.session_id === 'beta' && x.ruleId === 'malformed_line').length >= 2, 'beta read again');
    assert.strictEqual(fs.statSync(state).mode & 0o777, 0o600, 'rewritten 0600');
    // A file that is not a state file: a clear message, exit 2, nothing overwritten.
    const bogus = path.join(dir, 'notes.txt');
    fs.writeFileSync(bogus, 'my notes');
    const bad = run('audit', dir, '--changed-since', bogus);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.stderr, /not an audit state file/);
    assert.strictEqual(fs.readFileSync(bogus, 'utf8'), 'my notes');
  });

  it('--since audits only sessions modified since then', () => {
    const dir = folder();
    const old = new Date('2026-01-01T00:00:00Z');
    for (const f of fs.readdirSync(path.join(dir, '_turn_journal'))) if (f.startsWith('alpha')) fs.utimesSync(path.join(dir, '_turn_journal', f), old, old);
    fs.utimesSync(path.join(dir, 'alpha.json'), old, old);
    const r = JSON.parse(run('audit', dir, '--json', '--fail-on', 'never', '--since', '2026-06-01T00:00:00Z').stdout);
    assert.deepStrictEqual(
      r.sessions.map((x: { session_id: string }) => x.session_id),
      ['beta'],
    );
    assert.strictEqual(JSON.parse(run('audit', dir, '--json', '--fail-on', 'never', '--since', '1700000000').stdout).sessions.length, 2);
    assert.strictEqual(run('audit', dir, '--since', 'yesterday').code, 2);
  });
});
