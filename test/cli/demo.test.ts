import * as assert from 'assert';
import * as path from 'path';
import * as fs from 'fs';
import { spawnSync } from 'child_process';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const DEMO = path.join(ROOT, 'demo/sessions');

interface ManifestSession {
  id: string;
  title: string;
  validEventCount: number;
  states: Record<string, string>;
  collisions: { turnId: string; events: string[] }[];
  malformed: { shard: string; line: number; kind: string }[];
  glued: { shard: string; line: number; recoveredEvent: string }[];
}

describe('bot-memory-audit on the bundled demo', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'demo/manifest.json'), 'utf8')) as { sessions: ManifestSession[]; invalidNameFiles: string[] };
  const r = spawnSync(process.execPath, [CLI, 'audit', DEMO, '--json', '--fail-on', 'never'], { encoding: 'utf8' });
  const report = JSON.parse(r.stdout) as {
    sessions: {
      session_id: string;
      title: string;
      event_count: number;
      states: Record<string, string>;
      collisions: { turn_id: string; events: string[] }[];
      malformed: { shard: string; line: number; glued: boolean }[];
      findings: { kind: string; shard?: string; line?: number }[];
    }[];
    skipped_files: { name: string }[];
  };

  it('exits 0 with --fail-on never and lists every session once', () => {
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(report.sessions.map((s) => s.session_id).sort(), manifest.sessions.map((s) => s.id).sort());
  });

  for (const m of manifest.sessions) {
    it(`matches the ground truth of ${m.id} (${m.title})`, () => {
      const s = report.sessions.find((x) => x.session_id === m.id)!;
      assert.strictEqual(s.title, m.title);
      assert.deepStrictEqual(s.states, m.states, 'states');
      assert.strictEqual(s.event_count, m.validEventCount, 'valid event count');
      assert.deepStrictEqual(s.collisions.map((c) => [c.turn_id, c.events]).sort(), m.collisions.map((c) => [c.turnId, c.events]).sort(), 'collisions');
      assert.deepStrictEqual(s.malformed.map((x) => `${x.shard}:${x.line}`).sort(), m.malformed.map((x) => `${x.shard}:${x.line}`).sort(), 'malformed lines');
      for (const g of m.glued) {
        assert.ok(
          s.findings.some((f) => f.kind === 'glued_event' && f.shard === g.shard && f.line === g.line),
          `glued event at ${g.shard}:${g.line}`,
        );
      }
    });
  }

  it('reports the file whose name breaks the session-id rule', () => {
    assert.deepStrictEqual(
      report.skipped_files.map((f) => f.name),
      manifest.invalidNameFiles,
    );
  });
});
