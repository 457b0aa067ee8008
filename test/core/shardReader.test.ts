import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { hasPythonLineBreakBytes, ShardReader } from '../../src/core/shardReader';
import { PYTHON_EXTRA_LINE_BREAKS } from '../../src/core/jsonLine';
import { ev, line, tempDir, T0 } from './helpers';

function reader(file: string, maxLineBytes = 1 << 24, chunkBytes?: number): ShardReader {
  return new ShardReader(file, path.basename(file), { maxLineBytes, chunkBytes });
}

function write(content: string | Buffer): string {
  const file = path.join(tempDir(), 's~1.jsonl');
  fs.writeFileSync(file, content);
  return file;
}

describe('ShardReader', () => {
  it('finds the characters Python breaks lines on in UTF-8 bytes exactly as the regular expression does in text', () => {
    for (const cp of [0x0d, 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]) {
      const s = `{"content":"a${String.fromCodePoint(cp)}b"}`;
      assert.strictEqual(hasPythonLineBreakBytes(Buffer.from(s)), true, cp.toString(16));
      assert.strictEqual(PYTHON_EXTRA_LINE_BREAKS.test(s), true);
    }
    for (const s of ['plain', 'tab\there', 'em — dash … “quotes” \u2027 \u202a é 😀 ¥ …']) {
      assert.strictEqual(hasPythonLineBreakBytes(Buffer.from(s)), false, s);
      assert.strictEqual(PYTHON_EXTRA_LINE_BREAKS.test(s), false, s);
    }
  });

  it('reads the same events and malformed lines whether lines fit in one read or span many', async () => {
    // Big reads take the one-decode-per-chunk path; 7-byte reads put every line across chunks.
    const lines = [
      line(ev('submitted', 't1', T0, { content: 'héllo 😀' })),
      line(ev('worker_started', 't1', T0 + 1, { content: 'a\u2028b' })),
      '\n',
      '   \t\n',
      'not json\n',
      '[1,2]\n',
      line(ev('assistant_started', 't1', T0 + 2)).replace('\n', '\r\n'),
      line(ev('completed', 't1', NaN)).replace('null', 'NaN'),
      '{"event":"subm' + line(ev('submitted', 't2', T0 + 9)),
      line(ev('interrupted', 't1', T0 + 3, { reason: 'x'.repeat(3000) })),
      line(ev('submitted', 't3', T0 + 20)),
    ];
    const file = write(
      Buffer.concat([...lines.map((l) => Buffer.from(l)), Buffer.from([0x7b, 0xff, 0x0a]), Buffer.from(line(ev('submitted', 't4', T0 + 30)))]),
    );
    const shape = (r: ShardReader) => ({
      events: r.contents.events.map((e) => [e.name, e.turnId, e.line, e.offset, e.length, !!e.pythonLineBreaks, !!e.nonStandardNumbers]),
      malformed: r.contents.malformed.map((m) => [m.kind, m.line, m.offset, m.length, m.glued?.name ?? null, m.gluedAt ?? null]),
      lines: r.contents.lineCount,
      crlf: r.contents.crlfLines,
    });
    const big = reader(file);
    await big.refresh();
    const expected = shape(big);
    assert.strictEqual(expected.events.length, 7);
    assert.deepStrictEqual(
      expected.malformed.map((m) => m[0]),
      ['not_json', 'not_object', 'not_json', 'invalid_utf8'],
    );
    for (const chunk of [7, 64, 500, 4096]) {
      const small = reader(file, 1 << 24, chunk);
      await small.refresh();
      assert.deepStrictEqual(shape(small), expected, `chunk ${chunk}`);
    }
    // The file's first line takes the one-decode path unless it starts with a BOM: whatever starts the file (a BOM, a CRLF
    // line, NaN, not JSON, a Python line break, blank), one read and 7-byte reads agree, BOM and CRLF counts included.
    const body = Buffer.concat(lines.map((l) => Buffer.from(l)));
    const starts = [Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xef, 0xbb]), ...[6, 7, 4, 1, 2, 3].map((k) => Buffer.from(lines[k]))];
    for (const start of starts) {
      const f = write(Buffer.concat([start, body]));
      const whole = reader(f);
      await whole.refresh();
      const pieces = reader(f, 1 << 24, 7);
      await pieces.refresh();
      const full = (r: ShardReader) => ({ ...shape(r), bom: r.contents.hasBom, hazards: r.contents.events.map((e) => e.pythonHazard ?? null) });
      assert.deepStrictEqual(full(whole), full(pieces), `file starting with ${JSON.stringify(start.toString('latin1'))}`);
    }
    // A line longer than the limit is too_long on either path.
    const limited = [reader(file, 2048), reader(file, 2048, 100)];
    for (const r of limited) await r.refresh();
    assert.deepStrictEqual(shape(limited[0]), shape(limited[1]));
    assert.deepStrictEqual(
      limited[0].contents.malformed.filter((m) => m.kind === 'too_long').map((m) => m.line),
      [10],
    );
  });

  it('ends lines at \\n only: U+2028, U+2029 and U+0085 are text', async () => {
    const content = 'a\u2028b\u2029c\u0085d\u000be';
    const r = reader(write(line(ev('submitted', 't1', T0, { content })) + line(ev('completed', 't1', T0 + 1))));
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 2);
    assert.strictEqual(r.contents.malformed.length, 0);
    assert.strictEqual(r.contents.events[0].data.content, content);
    assert.strictEqual(r.contents.events[0].pythonLineBreaks, true);
    assert.strictEqual(r.contents.events[1].line, 2);
  });

  it('tolerates CRLF line ends and a UTF-8 BOM', async () => {
    const text = '\ufeff' + line(ev('submitted', 't1', T0)).replace('\n', '\r\n') + line(ev('worker_started', 't1', T0 + 1)).replace('\n', '\r\n');
    const r = reader(write(text));
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 2);
    assert.strictEqual(r.contents.hasBom, true);
    assert.strictEqual(r.contents.crlfLines, 2);
    assert.strictEqual(r.contents.events[1].offset, Buffer.byteLength(text.split('\n')[0]) + 1);
  });

  it('keeps shard, 1-based line and byte offset for every kind of malformed line', async () => {
    const good = line(ev('submitted', 't1', T0));
    const buf = Buffer.concat([
      Buffer.from(good),
      Buffer.from('not json\n'),
      Buffer.from('[1,2]\n'),
      Buffer.from('\n   \n'),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"a":"\xff\xfe"}
      Buffer.from('42\n'),
      Buffer.from(line(ev('completed', 't1', T0 + 2))),
    ]);
    const r = reader(write(buf));
    await r.refresh();
    const m = r.contents.malformed.map((x) => [x.kind, x.line, x.offset]);
    const o1 = Buffer.byteLength(good);
    assert.deepStrictEqual(m, [
      ['not_json', 2, o1],
      ['not_object', 3, o1 + 9],
      ['invalid_utf8', 6, o1 + 9 + 6 + 5],
      ['not_object', 7, o1 + 9 + 6 + 5 + 11],
    ]);
    assert.strictEqual(r.contents.events.length, 2);
    assert.strictEqual(r.contents.events[1].line, 8);
    assert.ok(r.contents.malformed[2].preview.includes('\ufffd'));
  });

  it('reports a final line without \\n as a torn tail and does not commit it', async () => {
    const file = write(line(ev('submitted', 't1', T0)) + '{"event":"worker_sta');
    const r = reader(file);
    await r.refresh();
    assert.strictEqual(r.contents.tail?.line, 2);
    assert.strictEqual(r.contents.tailMalformed?.torn, true);
    assert.strictEqual(r.committedOffset, Buffer.byteLength(line(ev('submitted', 't1', T0))));
  });

  it('a valid final event without \\n is still an event, flagged as a tail', async () => {
    const r = reader(write(line(ev('submitted', 't1', T0)) + JSON.stringify(ev('completed', 't1', T0 + 1))));
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 1);
    assert.strictEqual(r.contents.tailEvent?.name, 'completed');
    assert.strictEqual(r.contents.tail?.parsed, true);
  });

  it('recovers an event glued onto a torn line', async () => {
    const glued = ev('completed', 't1', T0 + 5, { assistant_message_index: 1 });
    const r = reader(write(line(ev('submitted', 't1', T0)) + '{"event":"assistant_started","stream_id":"x","assis' + line(glued)));
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 1);
    const m = r.contents.malformed[0];
    assert.strictEqual(m.kind, 'not_json');
    assert.ok(m.glued);
    assert.deepStrictEqual(m.glued.data, glued);
    assert.strictEqual(m.glued.recovered, true);
    assert.strictEqual(m.gluedAt, '{"event":"assistant_started","stream_id":"x","assis'.length);
  });

  it('finds a glued event after invalid UTF-8 in the torn part', async () => {
    const glued = ev('interrupted', 't1', T0 + 5, { reason: 'error' });
    const buf = Buffer.concat([Buffer.from('{"event":"submitted","content":"caf'), Buffer.from([0xc3]), Buffer.from(line(glued))]);
    const r = reader(write(buf));
    await r.refresh();
    assert.strictEqual(r.contents.malformed[0].kind, 'invalid_utf8');
    assert.deepStrictEqual(r.contents.malformed[0].glued?.data, glued);
  });

  it('reports over-long lines without buffering them and reads on after them', async () => {
    const big = '{"event":"submitted","content":"' + 'x'.repeat(300_000) + '"}\n';
    const r = reader(write(big + line(ev('completed', 't1', T0))), 100_000, 64 * 1024);
    await r.refresh();
    assert.strictEqual(r.contents.malformed.length, 1);
    assert.strictEqual(r.contents.malformed[0].kind, 'too_long');
    assert.strictEqual(r.contents.malformed[0].length, big.length - 1);
    assert.ok(r.contents.malformed[0].preview.length <= 2048);
    assert.strictEqual(r.contents.events.length, 1);
    assert.strictEqual(r.contents.events[0].line, 2);
  });

  it('reads a line split across many read chunks', async () => {
    const e = ev('submitted', 't1', T0, { content: '日本語🙂'.repeat(5000) });
    const r = reader(write(line(e) + line(ev('completed', 't1', T0 + 1))), 1 << 24, 4096);
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 2);
    assert.strictEqual(r.contents.events[0].data.content, e.content);
  });

  it('handles an empty file and a binary file', async () => {
    const empty = reader(write(''));
    await empty.refresh();
    assert.strictEqual(empty.contents.events.length + empty.contents.malformed.length, 0);
    const bin = Buffer.alloc(10_000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) % 256;
    const r = reader(write(bin));
    await r.refresh();
    assert.strictEqual(r.contents.events.length, 0);
    assert.ok(r.contents.malformed.length > 0);
    for (const m of r.contents.malformed) assert.ok(m.line >= 1 && m.offset >= 0);
  });

  it('survives deeply nested JSON', async () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const r = reader(write(deep + '\n' + '{"a":' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_001) + '\n'));
    await r.refresh();
    assert.strictEqual(r.contents.malformed[0].line, 1);
    assert.strictEqual(r.contents.malformed[0].kind, 'not_object');
    // The nested object is an object: it reads as an event (without a name), or as malformed if the engine refuses the depth.
    assert.strictEqual(r.contents.events.length + r.contents.malformed.length, 2);
  });

  it('after an append parses only the new bytes', async () => {
    const file = write(line(ev('submitted', 't1', T0)).repeat(1000));
    const r = reader(file);
    const first = await r.refresh();
    assert.strictEqual(first.mode, 'full');
    const added = line(ev('completed', 't1', T0 + 9));
    fs.appendFileSync(file, added);
    const second = await r.refresh();
    assert.strictEqual(second.mode, 'append');
    assert.strictEqual(second.bytesRead, Buffer.byteLength(added));
    assert.strictEqual(second.newEvents, 1);
    assert.strictEqual(r.contents.events.length, 1001);
    assert.strictEqual(r.contents.events[1000].line, 1001);
    assert.strictEqual((await r.refresh()).mode, 'none');
  });

  it('re-reads a torn tail once its newline arrives', async () => {
    const file = write(line(ev('submitted', 't1', T0)));
    const r = reader(file);
    await r.refresh();
    const whole = line(ev('completed', 't1', T0 + 1));
    fs.appendFileSync(file, whole.slice(0, 20));
    await r.refresh();
    assert.ok(r.contents.tailMalformed);
    fs.appendFileSync(file, whole.slice(20));
    const res = await r.refresh();
    assert.strictEqual(res.mode, 'append');
    assert.strictEqual(r.contents.tail, null);
    assert.strictEqual(r.contents.events.length, 2);
    assert.strictEqual(r.contents.malformed.length, 0);
  });

  it('re-reads a truncated or replaced file whole', async () => {
    const file = write(line(ev('submitted', 't1', T0)) + line(ev('completed', 't1', T0 + 1)));
    const r = reader(file);
    await r.refresh();
    fs.writeFileSync(file, line(ev('submitted', 't2', T0)));
    const res = await r.refresh();
    assert.strictEqual(res.mode, 'full');
    assert.deepStrictEqual(
      r.contents.events.map((e) => e.turnId),
      ['t2'],
    );

    const other = file + '.new';
    fs.writeFileSync(other, line(ev('submitted', 't3', T0)) + line(ev('submitted', 't4', T0)));
    fs.renameSync(other, file); // same size class, new inode
    const res2 = await r.refresh();
    assert.strictEqual(res2.mode, 'full');
    assert.deepStrictEqual(
      r.contents.events.map((e) => e.turnId),
      ['t3', 't4'],
    );
  });

  it('reports a file that disappeared instead of throwing', async () => {
    const file = write(line(ev('submitted', 't1', T0)));
    const r = reader(file);
    await r.refresh();
    fs.rmSync(file);
    await r.refresh();
    assert.match(r.contents.error ?? '', /no such file/);
    assert.strictEqual(r.contents.events.length, 0);
  });

  it('reads a 50 MB line as too long (default limit 16 MiB) without holding it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 's~1.jsonl');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, '{"event":"submitted","content":"');
    const block = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 50; i++) fs.writeSync(fd, block);
    fs.writeSync(fd, '"}\n' + line(ev('completed', 't1', T0)));
    fs.closeSync(fd);
    const r = new ShardReader(file, 's~1.jsonl', { maxLineBytes: 16 * 1024 * 1024 });
    await r.refresh();
    assert.strictEqual(r.contents.malformed[0].kind, 'too_long');
    assert.strictEqual(r.contents.events.length, 1);
    fs.rmSync(dir, { recursive: true });
  });
});
