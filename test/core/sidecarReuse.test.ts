import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readSidecar, sidecarPath } from '../../src/core/sidecar';
import { newSidecarReuse, parseSidecarJson, REUSE_MIN_BYTES } from '../../src/core/sidecarReuse';
import { SessionJournal } from '../../src/core/session';
import { pyJsonDumps, Rng, UNICODE_SNIPPETS, type PyJsonValue } from '../support/fixtures';
import { tempDir } from './helpers';

type Msg = Record<string, PyJsonValue>;

/** A hermes-webui session as `Session.save` lays it out: metadata, message_count, messages, then the rest. */
interface Doc {
  title: string;
  updatedAt: number;
  messages: Msg[];
  toolCalls: PyJsonValue[];
  scenes: Record<string, PyJsonValue>;
  extra: Record<string, PyJsonValue>;
}

function payload(d: Doc): Map<string, PyJsonValue> {
  return new Map<string, PyJsonValue>([
    ['session_id', 'abc123def456'],
    ['title', d.title],
    ['workspace', '/srv/w'],
    ['model', 'gpt-x'],
    ['created_at', 1763600000.25],
    ['updated_at', d.updatedAt],
    ['active_stream_id', null],
    ['pending_user_message', null],
    ['message_count', d.messages.length],
    ['anchor_scene_index', {}],
    ['messages', d.messages],
    ['tool_calls', d.toolCalls],
    ['anchor_activity_scenes', d.scenes],
    ...Object.entries(d.extra),
  ]);
}

function message(rng: Rng, k: number): Msg {
  const role = rng.pick(['user', 'assistant', 'tool']);
  let content = '';
  const n = rng.int(1, 40);
  for (let i = 0; i < n; i++) content += rng.pick([...UNICODE_SNIPPETS, 'plain words ', '\n  ]\n', '"messages": [', '\\', '\u2028']);
  const m: Msg = { role, content, timestamp: 1763600000 + k };
  // Things that look like the top-level key or the array's close, nested deeper.
  if (rng.chance(0.1)) m.messages = [{ role: 'user', content: 'nested' }];
  if (rng.chance(0.1)) m.tool_calls = [{ id: `c${k}`, args: { list: [1, 2, [3]] } }];
  if (rng.chance(0.05)) m._error = true;
  return m;
}

/** One hermes-like rewrite (or a writer doing something else): returns the file's new text. */
function rewrite(rng: Rng, d: Doc, k: number): string {
  d.updatedAt += 1.5;
  const op = rng.int(0, 99);
  if (op < 40) for (let i = rng.int(1, 3); i > 0; i--) d.messages.push(message(rng, k * 10 + i));
  else if (op < 45 && d.messages.length) {
    // An edit of the same byte length in an old message, and an append: only the old bytes' comparison tells.
    const m = d.messages[rng.int(0, d.messages.length - 1)];
    m.timestamp = Number(m.timestamp) % 10 === 9 ? Number(m.timestamp) - 1 : Number(m.timestamp) + 1;
    d.messages.push(message(rng, k));
  } else if (op < 52 && d.messages.length)
    d.messages[rng.int(0, d.messages.length - 1)] = message(rng, k); // edit
  else if (op < 58)
    d.messages.splice(rng.int(Math.floor(d.messages.length * 0.9), d.messages.length)); // truncate (hermes' #1558 shrink)
  else if (op < 64) d.title = rng.pick(['Retitled', 'Ünïcode title', 'x']);
  else if (op < 68) d.toolCalls.push({ id: `t${k}`, name: 'search' });
  else if (op < 71) d.scenes[`s${k}`] = { summary: 'scene', messages: [1, 2] };
  else if (op < 73) d.extra.messages_note = 'a key that starts like messages';
  else if (op < 75) d.messages = [];
  const text = pyJsonDumps(payload(d), { indent: 2 });
  if (op >= 75 && op < 79) return pyJsonDumps(payload(d), { indent: rng.pick([4, 1]) }); // another layout
  if (op >= 79 && op < 82) return pyJsonDumps(payload(d)); // compact
  if (op >= 82 && op < 84) return text + rng.pick(['\n', '   ', '\n\n']); // trailing whitespace
  if (op >= 84 && op < 86) return text.slice(0, rng.int(1, text.length - 1)); // torn (not JSON)
  if (op >= 86 && op < 88) return text.replace(/\n\}$/, `,\n  "messages": ${rng.pick([7, 0, 1])}\n}`); // a later duplicate key wins
  if (op >= 88 && op < 90) return text.replace('\n  "messages": [', '\n  "messages": [\n    1,'); // a non-object message first
  if (op >= 90 && op < 92) return text.replace(/\n {2}\],\n {2}"tool_calls"/, '\n  ]e0,\n  "tool_calls"'); // junk after the array
  if (op >= 92 && op < 94) return '\ufeff' + text; // BOM
  return text;
}

function bigDoc(rng: Rng): Doc {
  const d: Doc = { title: 'Start', updatedAt: 1763600000.5, messages: [], toolCalls: [], scenes: {}, extra: { last_usage: { input_tokens: 1 } } };
  while (Buffer.byteLength(pyJsonDumps(payload(d), { indent: 2 })) < REUSE_MIN_BYTES + 4096) {
    for (let i = 0; i < 200; i++) d.messages.push(message(rng, d.messages.length));
  }
  return d;
}

describe('sidecar: a rewrite re-reads only its new messages (sidecarReuse)', function () {
  this.timeout(120_000);

  it('equals JSON.parse of the whole file over random hermes-style rewrite sequences (append, edit, truncate, retitle, layouts, torn, duplicates)', async () => {
    const dir = tempDir();
    const p = sidecarPath(dir, 'abc123def456');
    const ways = { whole: 0, split: 0, reuse: 0 };
    for (let seed = 1; seed <= 5; seed++) {
      const rng = new Rng(seed).fork('sidecar-rewrites');
      const d = bigDoc(rng);
      const reuse = newSidecarReuse();
      for (let k = 0; k < 30; k++) {
        const text = k === 0 ? pyJsonDumps(payload(d), { indent: 2 }) : rewrite(rng, d, k);
        fs.writeFileSync(p + '.tmp', text);
        fs.renameSync(p + '.tmp', p); // hermes' os.replace
        const reused = await readSidecar(dir, 'abc123def456', reuse);
        const whole = await readSidecar(dir, 'abc123def456');
        assert.deepStrictEqual(reused, whole, `seed ${seed} step ${k} (${reuse.last})`);
        if (reuse.last) ways[reuse.last]++;
      }
    }
    // The shortcut ran, and so did every fallback.
    if (process.env.BMA_TEST_VERBOSE) console.log(ways);
    assert.ok(ways.reuse >= 40, JSON.stringify(ways));
    assert.ok(ways.split >= 10 && ways.whole >= 5, JSON.stringify(ways));
  });

  it('parses exactly what JSON.parse does, or throws as it does, on hand-made texts', () => {
    const base = pyJsonDumps(payload({ ...bigDoc(new Rng(9)), title: 't' }), { indent: 2 });
    const variants = [
      base,
      base.replace('\n  "messages": [', '\n  "messages": [\n    {"a": "\\n  ]"},'),
      base.replace(/\n\}$/, ',\n  "messages": []\n}'),
      base.replace(/\n\}$/, ',\n  "messages": 0\n}'),
      base.replace('{\n  "session_id"', '{\n  "outer": {\n  "messages": [1]},\n  "session_id"'),
      base.replace(/\n {2}\]/, '\n  ]]'),
      base.replace(/"title": "t"/, '"title": "t\n"'),
    ];
    for (const text of variants) {
      const buf = Buffer.from(text);
      const reuse = newSidecarReuse();
      let expected: unknown;
      let error: string | undefined;
      try {
        expected = JSON.parse(text);
      } catch (e) {
        error = (e as Error).message;
      }
      if (error !== undefined) assert.throws(() => parseSidecarJson(buf, 0, reuse), { message: error });
      else assert.deepStrictEqual(parseSidecarJson(buf, 0, reuse), expected);
      // And as a rewrite of the unchanged base.
      const again = newSidecarReuse();
      parseSidecarJson(Buffer.from(base), 0, again);
      if (error !== undefined) assert.throws(() => parseSidecarJson(buf, 0, again), { message: error });
      else assert.deepStrictEqual(parseSidecarJson(buf, 0, again), expected);
    }
  });

  it('a live journal parses only the new messages of each save, and its analysis equals a fresh one', async () => {
    const dir = tempDir();
    const rng = new Rng(5);
    const d = bigDoc(rng);
    fs.mkdirSync(path.join(dir, '_turn_journal'));
    const save = (): void => fs.writeFileSync(sidecarPath(dir, 'abc123def456'), pyJsonDumps(payload(d), { indent: 2 }));
    save();
    const j = new SessionJournal(dir, 'abc123def456', { incremental: true });
    j.setShards([]);
    await j.refresh();
    assert.strictEqual(j.lastSidecarParse, 'split');
    for (let k = 0; k < 3; k++) {
      d.updatedAt += 1;
      d.messages.push(message(rng, 1000 + k));
      save();
      await j.refresh();
      assert.strictEqual(j.lastSidecarParse, 'reuse');
      const fresh = new SessionJournal(dir, 'abc123def456');
      fresh.setShards([]);
      await fresh.refresh();
      const opts = { now: 1763700000, staleAfterSeconds: 3600 };
      assert.deepStrictEqual(j.analyze(opts), fresh.analyze(opts));
    }
  });
});
