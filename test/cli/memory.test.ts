import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { tempDir } from '../core/helpers';
import { BotDb, MT0, populateClean } from '../support/memoryFixtures';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const NOW = String(MT0 + 86400 * 30);

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bot-memory-audit memory', () => {
  let clean: string;
  let broken: string;
  let custom: string;
  before(() => {
    const dir = tempDir('bma-memcli-');
    let b = new BotDb(path.join(dir, 'clean', 'bot.db'));
    populateClean(b, { bots: 2, memoriesPerBot: 12 });
    b.close();
    clean = b.file;
    b = new BotDb(path.join(dir, 'broken', 'bot.db'));
    for (let i = 0; i < 8; i++) b.score(b.write('ada', `m${i}`), 3);
    b.score(b.write('ada', 'over'), 3, { evict: 'newest-auto' });
    b.event('memory_pin_changed', { memory_id: 1, pinned: 'maybe', auto_pinned: 0 });
    b.sql('UPDATE memories SET significance = 0 WHERE id = 2');
    b.close();
    broken = b.file;
    b = new BotDb(path.join(dir, 'custom', 'bot.db'), { names: { events: 'ledger', payload: 'body' } });
    populateClean(b, { bots: 1, memoriesPerBot: 5 });
    b.close();
    custom = b.file;
  });

  it('a clean database: exit 0, one line per bot', () => {
    const r = run('memory', clean, '--now', NOW);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /^✔ bot-0 {2}12 memories · \d+ pinned \(\d+ auto, \d+ manual\)\n✔ bot-1 /);
    assert.match(r.stdout, /0 errors, 0 warnings, 0 info/);
  });

  it('--json: the documented report; violations exit 1 and name bot, memory and event', () => {
    const r = run('memory', broken, '--json', '--now', NOW);
    assert.strictEqual(r.code, 1, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.strictEqual(rep.version, 1);
    assert.strictEqual(rep.input.format, 'sqlite');
    assert.deepStrictEqual(rep.schema.eventsTable, 'events');
    assert.deepStrictEqual(
      rep.bots.map((b: { bot_id: string }) => b.bot_id),
      ['ada'],
    );
    const kinds = rep.findings.map((f: { kind: string }) => f.kind).sort();
    assert.deepStrictEqual(kinds, ['invalid_event_payload', 'memory_drift', 'wrong_pin_evicted']);
    const wrong = rep.findings.find((f: { kind: string }) => f.kind === 'wrong_pin_evicted');
    assert.strictEqual(wrong.bot_id, 'ada');
    assert.strictEqual(wrong.memory_id, '8');
    assert.strictEqual(typeof wrong.event_id, 'number');
    assert.strictEqual(rep.summary.findings.error, 3);
  });

  it('exit codes follow --fail-on', () => {
    assert.strictEqual(run('memory', broken, '--fail-on', 'never', '--now', NOW).code, 0);
    assert.strictEqual(run('memory', clean, '--fail-on', 'warning', '--now', NOW).code, 0);
  });

  it('table and column names from flags or a --config file', () => {
    let r = run('memory', custom, '--now', NOW);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /no event log table "events" or "event_log" or "eventlog" or "memory_events" \(tables: ledger, memories/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    r = run('memory', custom, '--events-table', 'ledger', '--event-column', 'payload=body', '--now', NOW);
    assert.strictEqual(r.code, 0, r.stderr);
    const cfg = path.join(path.dirname(custom), 'cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ eventsTable: 'ledger', eventColumns: { payload: 'body' } }));
    r = run('memory', custom, '--config', cfg, '--json', '--now', NOW);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(JSON.parse(r.stdout).summary.memories, 5);
    fs.writeFileSync(cfg, JSON.stringify({ eventColumns: { paylod: 'body' } }));
    r = run('memory', custom, '--config', cfg);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /unknown key "eventColumns\.paylod"/);
  });

  it('--projection prints the replayed memories', () => {
    const r = run('memory', clean, '--projection', '--now', NOW);
    assert.strictEqual(r.code, 0);
    const p = JSON.parse(r.stdout);
    assert.strictEqual(p.memories.length, 24);
    assert.deepStrictEqual(Object.keys(p.memories[0]), ['id', 'owner', 'text', 'significance', 'pinned', 'auto_pinned', 'created_at', 'events']);
  });

  it('a JSONL export: findings carry file:line', () => {
    const file = path.join(path.dirname(clean), 'events.jsonl');
    fs.writeFileSync(
      file,
      [
        { id: 1, kind: 'memory_written', payload: { memory_id: 1, owner_id: 'ada', text: 't' } },
        { id: 2, kind: 'memory_significance_set', payload: { memory_id: 2, significance: 1 } },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const r = run('memory', file, '--now', NOW);
    assert.strictEqual(r.code, 1);
    assert.match(r.stdout, /error {3}unknown_memory_event +events\.jsonl:2 event 2 \(memory_significance_set\) is about memory 2/);
    assert.match(r.stdout, /info {4}memories_table_unavailable/);
  });

  it('bad arguments and unreadable inputs exit 2 with a message and no stack trace', () => {
    for (const args of [
      ['memory'],
      ['memory', '/nonexistent/bot.db'],
      ['memory', clean, '--fail-on', 'sometimes'],
      ['memory', clean, '--event-column', 'nope=x'],
      ['memory', clean, '--config', '/nonexistent.json'],
    ]) {
      const r = run(...args);
      assert.strictEqual(r.code, 2, args.join(' '));
      assert.ok(r.stderr.length > 0);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
