import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { GithubClient, GithubError, type GithubClientOptions } from '../../src/core/github/client';
import { LEDGER_FILE, OUTBOX_FILE, Outbox } from '../../src/core/github/outbox';
import { collectRecords, interactionRecord, recordId, serializeRecord } from '../../src/core/github/records';
import { pushFolder, pushRecords, appendLines } from '../../src/core/github/push';
import { lastLines, pullLog } from '../../src/core/github/pull';
import { partPath, type GithubTarget } from '../../src/core/github/remote';
import { FakeGithub, ONE_MB, base64At60 } from '../support/fakeGithub';
import { idsOf, turnId, writeFeedback, writeSession } from '../support/githubFixtures';
import { seedAppend } from '../support/seedWriter';
import { tempDir } from './helpers';

const REPO = 'acme/bot';
const LOG = 'data/interactions.jsonl';

function client(gh: FakeGithub, extra: Partial<GithubClientOptions> = {}): GithubClient {
  return new GithubClient({ token: 'test-token', apiUrl: gh.url, retryBaseMs: 5, writeSpacingMs: 0, timeoutMs: 2000, ...extra });
}

const target = (extra: Partial<GithubTarget> = {}): GithubTarget => ({ owner: 'acme', repo: 'bot', path: LOG, ...extra });

function recs(n: number, prefix = 'r'): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < n; i++) m.set(`${prefix}${i}`, serializeRecord({ type: 'interaction', version: 1, id: `${prefix}${i}`, user: `u${i}` }));
  return m;
}

describe('GitHub log: records', () => {
  it('makes one interaction record per finished turn, and reads feedback records', async () => {
    const dir = tempDir();
    const ids = writeSession(dir, 's1', 6, { userText: (i) => (i === 0 ? 'line\u2028sep' : `q${i}`) });
    writeFeedback(dir, 's1', [{ id: 'fb-1', turn: turnId(0), feedback: -1, note: 'wrong' }]);
    fs.appendFileSync(path.join(dir, '_turn_feedback', 's1.jsonl'), 'not json\n{"type":"feedback","version":1,"id":"fb-torn"'); // garbage + torn tail
    const c = await collectRecords(dir);
    assert.deepStrictEqual(
      c.records.map((r) => r.id),
      [...ids, 'fb-1'],
    );
    assert.strictEqual(c.interactions, 5);
    assert.strictEqual(c.skipped.length, 1); // "not json"; the torn tail is not yet a line
    const first = JSON.parse(c.records[0].line);
    assert.deepStrictEqual(Object.keys(first), [
      'type',
      'version',
      'id',
      'session_id',
      'turn_id',
      'state',
      'created_at',
      'completed_at',
      'model',
      'model_provider',
      'user',
      'assistant',
    ]);
    assert.strictEqual(first.user, 'line\u2028sep');
    assert.strictEqual(first.assistant, 'answer 0 of s1');
    assert.ok(c.records[0].line.includes('\\u2028'), 'U+2028 escaped so splitlines() readers keep the record whole');
    const interrupted = JSON.parse(c.records[4].line);
    assert.strictEqual(interrupted.state, 'interrupted');
    assert.strictEqual(interrupted.reason, 'cancelled');
    assert.strictEqual(recordId(c.records[5].line), 'fb-1');
    // Per-turn feedback is pushed as turn_feedback: a seed-rule consumer ("feedback" = the
    // session's last interaction) must not take it for a correction of another turn.
    const fb = JSON.parse(c.records[5].line);
    assert.strictEqual(fb.type, 'turn_feedback');
    assert.deepStrictEqual(Object.keys(fb), ['type', 'version', 'id', 'session_id', 'turn_id', 'feedback', 'note', 'reviewer', 'timestamp']);
  });

  it('masks secrets and personal data in the pushed copy only (curation redaction); ids untouched', async () => {
    const dir = tempDir();
    const token = 'ghp_' + 'A1b2C3d4'.repeat(5);
    writeSession(dir, 's-red', 3, { userText: (i) => (i === 0 ? `my token is ${token}, mail me at ana@example.com` : `q${i}`) });
    writeFeedback(dir, 's-red', [{ id: 'fb-r', turn: turnId(0), feedback: -1, note: 'call +1 415 555 0100 or ana@example.com' }]);
    const c = await collectRecords(dir);
    const [first, , fb] = c.records.map((r) => JSON.parse(r.line));
    assert.strictEqual(first.user, 'my token is [REDACTED:github_token], mail me at [REDACTED:email]');
    assert.strictEqual(first.id, `s-red/${turnId(0)}`);
    assert.ok(!fb.note.includes('ana@example.com'), fb.note);
    assert.strictEqual(c.redacted?.github_token, 1);
    assert.strictEqual(c.redacted?.email, 2);
    assert.ok(fs.readFileSync(path.join(dir, '_turn_journal', 's-red~4242.jsonl'), 'utf8').includes(token), 'the journal is not changed');
  });

  it('gives no record for an open turn', () => {
    assert.strictEqual(interactionRecord('s', { terminal: false } as never), null);
  });
});

describe('GitHub log: push', function () {
  this.timeout(30_000);
  let gh: FakeGithub;
  beforeEach(async () => {
    gh = await new FakeGithub().start();
  });
  afterEach(async () => {
    await gh.stop();
  });

  it('creates the file, then appends only what is missing, 2 requests per push', async () => {
    gh.createRepo(REPO, { 'README.md': 'hi' });
    const c = client(gh);
    const hint = {}; // what pushFolder keeps in _github_state.json between pushes
    const r1 = await pushRecords(recs(3), { target: target(), client: c, hint });
    assert.strictEqual(r1.appended, 3);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['r0', 'r1', 'r2']);
    assert.ok(c.stats.requests <= 5, `first push (file absent: repository, branch, rotated parts checked) took ${c.stats.requests} requests`);
    let before = c.stats.requests;
    const r2 = await pushRecords(recs(5), { target: target(), client: c, hint });
    assert.strictEqual(r2.appended, 2);
    assert.strictEqual(r2.alreadyPresent, 3);
    assert.strictEqual(c.stats.requests - before, 2, 'GET, PUT');
    before = c.stats.requests;
    const r3 = await pushRecords(recs(6), { target: target(), client: c, hint });
    assert.strictEqual(r3.appended, 1);
    assert.strictEqual(c.stats.requests - before, 2, 'GET, PUT');
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    before = c.stats.requests;
    const r4 = await pushRecords(recs(6), { target: target(), client: c, hint, expected: new Set(recs(6).keys()) });
    assert.strictEqual(r4.appended, 0);
    assert.deepStrictEqual(r4.vanished, []);
    assert.strictEqual(c.stats.requests - before, 1, 'the ledger check is made on the content the push reads anyway');
    assert.strictEqual(gh.commitCount(REPO), 4);
  });

  it('keeps prior bytes exactly: unparseable lines, CRLF, invalid UTF-8, no final newline', async () => {
    const prior = Buffer.concat([
      Buffer.from('{"id":"r1","type":"x"}\r\nnot json at all\n{"no":"id"}\n'),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('\n{"id":"old"}'),
    ]);
    gh.createRepo(REPO, { [LOG]: prior });
    const r = await pushRecords(recs(3), { target: target(), client: client(gh) });
    assert.strictEqual(r.appended, 2);
    assert.strictEqual(r.alreadyPresent, 1);
    assert.strictEqual(r.remoteUnparsed, 3);
    const after = gh.file(REPO, LOG)!;
    assert.ok(after.subarray(0, prior.length).equals(prior), 'prior bytes untouched');
    const r3 = recs(3);
    assert.strictEqual(after.subarray(prior.length).toString(), `\n${r3.get('r0')}\n${r3.get('r2')}\n`);
  });

  it('retries a 409 and a write whose answer was lost, ending with each record once', async () => {
    gh.createRepo(REPO, { [LOG]: '{"id":"seed"}\n' });
    gh.inject('conflict409'); // first request: GET → 502 (409 only hits writes), retried by the plugin
    const c = client(gh);
    // Another writer commits between our read and our write.
    let raced = false;
    const r = await pushRecords(recs(4), {
      target: target(),
      client: c,
      backoffBaseMs: 1,
      onProgress: (p) => {
        if (p.phase === 'write' && !raced) {
          raced = true;
          gh.writeFile(REPO, LOG, '{"id":"seed"}\n{"id":"r1","by":"other"}\n');
        }
      },
    });
    assert.strictEqual(r.attempts, 2);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['seed', 'r1', 'r0', 'r2', 'r3']);
    // Now the PUT takes effect but its answer is lost: the retry must not duplicate.
    gh.inject(); // nothing for the GET
    const more = recs(6);
    let armed = false;
    await pushRecords(more, {
      target: target(),
      client: c,
      backoffBaseMs: 1,
      onProgress: (p) => {
        if (p.phase === 'write' && !armed) {
          armed = true;
          gh.inject('resetAfterWrite');
        }
      },
    });
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['seed', 'r1', 'r0', 'r2', 'r3', 'r4', 'r5']);
  });

  it('create race: two first pushes, the loser gets 422 "sha" wasn\'t supplied, re-reads and appends; each record once', async () => {
    gh.createRepo(REPO, { 'README.md': 'hi' });
    gh.barrier('PUT', 2); // both read "no file", both create: the second PUT loses
    const a = new Map([...recs(3)].slice(0, 2));
    const b = new Map([...recs(3)].slice(1));
    const [ra, rb] = await Promise.all([
      pushRecords(a, { target: target(), client: client(gh), backoffBaseMs: 1 }),
      pushRecords(b, { target: target(), client: client(gh), backoffBaseMs: 1 }),
    ]);
    const lost = gh.log.filter((l) => l.method === 'PUT' && l.status === 422);
    assert.strictEqual(lost.length, 1, 'exactly one create lost the race');
    assert.deepStrictEqual([ra.attempts, rb.attempts].sort(), [1, 2]);
    const ids = idsOf(gh.file(REPO, LOG)!);
    assert.deepStrictEqual([...ids].sort(), ['r0', 'r1', 'r2']);
    assert.strictEqual(ra.appended + rb.appended, 3);
  });

  it('a 422 that is not a race (a malformed sha) is not retried', async () => {
    gh.createRepo(REPO, { [LOG]: '{"id":"x"}\n' });
    const c = client(gh);
    await assert.rejects(
      c.request('PUT /repos/acme/bot/contents/data/interactions.jsonl', { message: 'm', content: '', sha: 'nope' }),
      (e: GithubError) => e.kind === 'invalid' && /not a valid blob sha/.test(e.message),
    );
    await assert.rejects(
      c.request('PUT /repos/acme/bot/contents/data/interactions.jsonl', { message: 'm', content: '' }),
      (e: GithubError) => e.kind === 'conflict' && /"sha" wasn't supplied/.test(e.message),
    );
  });

  it('retries timeouts and 5xx, then gives up keeping the error transient', async () => {
    gh.createRepo(REPO, {});
    gh.hangMs = 1500;
    gh.inject('hang', 'status500', 'status502');
    const c = client(gh, { timeoutMs: 300 });
    const waits: string[] = [];
    const c2 = new GithubClient({ ...c.options, onWait: (_r, _s, d) => waits.push(d) });
    const r = await pushRecords(recs(2), { target: target(), client: c2 });
    assert.strictEqual(r.appended, 2);
    assert.ok(
      waits.some((w) => /no answer within/.test(w)),
      waits.join('; '),
    );
    // Every request fails: the push fails with a transient error after bounded attempts.
    gh.randomFaults = { rate: 1, kinds: ['status500'] };
    await assert.rejects(
      pushRecords(recs(3), { target: target(), client: client(gh, { retries: 1 }), maxAttempts: 2, backoffBaseMs: 1 }),
      (e: GithubError) => e.kind === 'server' && /Nothing was lost/.test(e.message),
    );
  });

  it('uses the Git Data API over 1 MB: ≤ 6 requests, prior bytes untouched, 422 non-fast-forward retried', async () => {
    const big = Buffer.from(Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ id: `old${i}`, pad: 'x'.repeat(80) }) + '\n').join(''));
    assert.ok(big.length > ONE_MB);
    gh.createRepo(REPO, { [LOG]: big, 'other.txt': 'keep me' });
    const c = client(gh);
    gh.resetLog();
    const r = await pushRecords(recs(10), { target: target({ branch: 'main' }), client: c, rotateAtBytes: 0 });
    assert.strictEqual(r.via, 'git');
    const after = gh.file(REPO, LOG)!;
    assert.ok(after.subarray(0, big.length).equals(big));
    assert.deepStrictEqual(idsOf(after.subarray(big.length)), [...recs(10).keys()]);
    assert.strictEqual(gh.file(REPO, 'other.txt')!.toString(), 'keep me');
    assert.ok(!gh.log.some((l) => l.method === 'PUT'), 'no Contents API PUT for a large file');
    assert.ok(gh.log.length <= 8, `first large push (+1: the one look for rotated parts): ${gh.log.length} requests`);
    // What the first push learned (the file is large) makes the next one 6 requests, also
    // without a branch setting (the default branch is remembered).
    const hint = { large: true, parts: {} };
    await pushRecords(recs(11), { target: target(), client: c, hint, rotateAtBytes: 0 });
    gh.resetLog();
    await pushRecords(recs(11).set('extra', '{"id":"extra"}'), { target: target(), client: c, hint, rotateAtBytes: 0 });
    assert.deepStrictEqual(
      gh.log.map((l) => `${l.method} ${l.path.replace(/\?.*/, '')}`),
      [
        'GET /repos/acme/bot/branches/main',
        'GET /repos/acme/bot/contents/data/interactions.jsonl',
        'POST /repos/acme/bot/git/blobs',
        'POST /repos/acme/bot/git/trees',
        'POST /repos/acme/bot/git/commits',
        'PATCH /repos/acme/bot/git/refs/heads/main',
      ],
    );
    // Non-fast-forward: someone commits between our read and our ref update.
    let raced = false;
    const r2 = await pushRecords(recs(12), {
      target: target({ branch: 'main' }),
      client: c,
      backoffBaseMs: 1,
      rotateAtBytes: 0,
      onProgress: (p) => {
        if (p.phase === 'write' && !raced) {
          raced = true;
          gh.writeFile(REPO, 'other.txt', 'changed');
        }
      },
    });
    assert.strictEqual(r2.attempts, 2);
    assert.strictEqual(r2.appended, 1);
    assert.strictEqual(gh.file(REPO, 'other.txt')!.toString(), 'changed', 'the other writer’s commit is kept');
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!.subarray(big.length)), [...recs(11).keys(), 'extra', 'r11']);
  });

  it('switches to the Git Data API when the file grows past 1 MB, and reads the default branch', async () => {
    gh.createRepo(REPO, { [LOG]: '{"id":"a"}\n' }, { branch: 'trunk' });
    const many = new Map<string, string>();
    for (let i = 0; i < 9000; i++) many.set(`g${i}`, serializeRecord({ id: `g${i}`, pad: 'y'.repeat(120) }));
    const r = await pushRecords(many, { target: target(), client: client(gh), rotateAtBytes: 0 });
    assert.strictEqual(r.via, 'git');
    const ids = idsOf(gh.file(REPO, LOG, 'trunk')!);
    assert.strictEqual(ids.length, 9001);
    assert.strictEqual(new Set(ids).size, 9001);
  });

  it('names the problem: bad token, read-only token, missing repository or branch', async () => {
    gh.createRepo(REPO, {});
    gh.tokens = { 'test-token': 'write', ro: 'read' };
    const bad = new GithubClient({ token: 'nope', apiUrl: gh.url, writeSpacingMs: 0 });
    await assert.rejects(
      pushRecords(recs(1), { target: target(), client: bad }),
      (e: GithubError) => e.kind === 'auth' && /401 Bad credentials/.test(e.message) && !e.message.includes('nope'),
    );
    const ro = new GithubClient({ token: 'ro', apiUrl: gh.url, writeSpacingMs: 0 });
    await assert.rejects(
      pushRecords(recs(1), { target: target(), client: ro }),
      (e: GithubError) => e.kind === 'permission' && /contents: write/.test(e.message),
    );
    await assert.rejects(
      pushRecords(recs(1), { target: { owner: 'acme', repo: 'nope', path: LOG }, client: client(gh) }),
      (e: GithubError) => e.kind === 'not_found' && /Repository acme\/nope not found/.test(e.message),
    );
    await assert.rejects(
      pushRecords(recs(1), { target: target({ branch: 'dev' }), client: client(gh) }),
      (e: GithubError) => e.kind === 'not_found' && /Branch "dev" not found/.test(e.message),
    );
  });

  it('waits out primary and secondary rate limits, saying so', async () => {
    gh.createRepo(REPO, {});
    gh.rateLimit('primary403', 'secondary429');
    const waits: string[] = [];
    const c = new GithubClient({ token: 'test-token', apiUrl: gh.url, writeSpacingMs: 0, onWait: (reason, s) => waits.push(`${reason}:${s}`) });
    const r = await pushRecords(recs(2), { target: target(), client: c });
    assert.strictEqual(r.appended, 2);
    assert.deepStrictEqual(
      waits.map((w) => w.split(':')[0]),
      ['rate-limit', 'secondary-rate-limit'],
    );
    // A limit longer than we accept fails with the reset time, as a rate-limit error.
    gh.rateLimit('primary429', 'primary429', 'primary429', 'primary429');
    const c2 = new GithubClient({ token: 'test-token', apiUrl: gh.url, writeSpacingMs: 0, maxRateLimitWaitSeconds: 0 });
    await assert.rejects(
      pushRecords(recs(3), { target: target(), client: c2 }),
      (e: GithubError) => e.kind === 'rate_limit' && /try again until/.test(e.message),
    );
  });
});

describe('GitHub log: outbox, ledger and pull', function () {
  this.timeout(30_000);
  let gh: FakeGithub;
  beforeEach(async () => {
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, {});
  });
  afterEach(async () => {
    await gh.stop();
  });

  it('keeps every record in the outbox while GitHub is unreachable, then pushes each once', async () => {
    const dir = tempDir();
    const ids = writeSession(dir, 'sA', 4);
    writeFeedback(dir, 'sA', [{ id: 'fb-x', turn: turnId(1), feedback: 1 }]);
    const port = gh.port;
    await gh.stop();
    const offline = new GithubClient({ token: 'test-token', apiUrl: `http://127.0.0.1:${port}`, retries: 1, retryBaseMs: 1, writeSpacingMs: 0 });
    await assert.rejects(pushFolder(dir, { target: target(), client: offline, maxAttempts: 2, backoffBaseMs: 1 }), (e: GithubError) => e.kind === 'network');
    const outbox = new Outbox(dir, 'acme/bot@:' + LOG);
    assert.deepStrictEqual([...outbox.pending().keys()], [...ids, 'fb-x']);
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, {});
    // The journal loses a session meanwhile: its records are still in the outbox.
    fs.rmSync(path.join(dir, '_turn_journal'), { recursive: true });
    fs.mkdirSync(path.join(dir, '_turn_journal'));
    const r = await pushFolder(dir, { target: target(), client: client(gh) });
    assert.strictEqual(r.appended, 4);
    assert.strictEqual(r.left, 0);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), [...ids, 'fb-x']);
    assert.strictEqual(fs.readFileSync(path.join(dir, OUTBOX_FILE), 'utf8'), '');
    assert.strictEqual(fs.readFileSync(path.join(dir, LEDGER_FILE), 'utf8').trim().split('\n').length, 4);
    // New feedback later: only it is pushed; the ledger keeps the rest from being queued again.
    writeSession(dir, 'sA', 4);
    writeFeedback(dir, 'sA', [{ id: 'fb-y', turn: turnId(2), feedback: -1 }]);
    const r2 = await pushFolder(dir, { target: target(), client: client(gh) });
    assert.strictEqual(r2.queued, 1);
    assert.strictEqual(r2.appended, 1);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), [...ids, 'fb-x', 'fb-y']);
  });

  it('after a crash between commit and ledger, the next push only records what is there', async () => {
    const dir = tempDir();
    const ids = writeSession(dir, 'sB', 3);
    const c = client(gh);
    await pushFolder(dir, { target: target(), client: c });
    fs.rmSync(path.join(dir, LEDGER_FILE)); // as if the ledger write never happened
    fs.writeFileSync(path.join(dir, OUTBOX_FILE), [...ids.map((id) => JSON.stringify({ id }))].join('\n') + '\n{"id":"tor');
    const r = await pushFolder(dir, { target: target(), client: c, collect: false });
    assert.strictEqual(r.appended, 0);
    assert.strictEqual(r.alreadyPresent, 2);
    assert.strictEqual(idsOf(gh.file(REPO, LOG)!).length, 2);
  });

  it('pulls the whole log or its last N lines, small or large', async () => {
    const dir = tempDir();
    gh.writeFile(REPO, LOG, '{"id":"a"}\nnot json\n\n{"id":"b"}\n{"id":"c"}');
    const out = path.join(dir, 'log.jsonl');
    const r = await pullLog(client(gh), target(), out);
    assert.deepStrictEqual(r, { exists: true, parts: 0, bytes: 42, lines: 4, records: 3, unparsed: 1 });
    assert.strictEqual(fs.readFileSync(out, 'utf8'), '{"id":"a"}\nnot json\n\n{"id":"b"}\n{"id":"c"}');
    await pullLog(client(gh), target(), out, { last: 2 });
    assert.strictEqual(fs.readFileSync(out, 'utf8'), '{"id":"b"}\n{"id":"c"}\n');
    const big = Buffer.alloc(2 * ONE_MB, 'z');
    gh.writeFile(REPO, LOG, Buffer.concat([big, Buffer.from('\n{"id":"last"}\n')]));
    const c = client(gh);
    const r2 = await pullLog(c, target(), out);
    assert.strictEqual(r2.bytes, big.length + 15);
    assert.strictEqual(c.stats.requests, 4, 'repository (default branch), branch head, folder listing, the file');
    assert.strictEqual((await pullLog(c, target({ path: 'nope.jsonl' }), out)).exists, false);
  });

  it('helpers: lastLines, appendLines, base64 at 60 columns', () => {
    assert.strictEqual(lastLines(Buffer.from('a\nb\n\nc\n'), 2).toString(), 'b\n\nc\n');
    assert.strictEqual(lastLines(Buffer.from('a\nb'), 5).toString(), 'a\nb\n');
    assert.strictEqual(appendLines(Buffer.from('x'), ['y']).toString(), 'x\ny\n');
    assert.strictEqual(appendLines(Buffer.alloc(0), ['y']).toString(), 'y\n');
    assert.ok(
      base64At60(Buffer.alloc(100))
        .split('\n')
        .every((l) => l.length <= 60),
    );
  });
});

describe('GitHub log: a rewritten log heals; rotation', function () {
  this.timeout(60_000);
  let gh: FakeGithub;
  beforeEach(async () => {
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, { 'README.md': 'hi' });
  });
  afterEach(async () => {
    await gh.stop();
  });

  /** `sessions` sessions of `turns` turns whose records are about `kb` KB each. */
  function bigFolder(sessions: number, turns: number, kb: number, prefix = 's'): { dir: string; ids: string[] } {
    const dir = tempDir();
    const ids: string[] = [];
    for (let s = 0; s < sessions; s++) ids.push(...writeSession(dir, `${prefix}${s}`, turns, { userText: (i) => `q${i} ` + 'x'.repeat(kb * 1024) }));
    return { dir, ids };
  }

  /** Every id of every part, in order, then the active file (what pull and a reader see). */
  function wholeLog(): string[] {
    const parts = [...Array(20).keys()].map((i) => gh.file(REPO, partPath(LOG, i + 1))).filter((b): b is Buffer => b !== undefined);
    const lines = [...parts, gh.file(REPO, LOG) ?? Buffer.alloc(0)].flatMap((b) =>
      b
        .toString()
        .split('\n')
        .filter((l) => l.trim()),
    );
    return lines.map((l) => {
      const v = JSON.parse(l) as { id?: string; session_id: string };
      return v.id ?? `seed:${v.session_id}`;
    });
  }

  it("the seed's writer wipes the log past 1 MB; the next push notices, says so, and restores every record once", async () => {
    const { dir, ids } = bigFolder(20, 9, 7); // 160 records, about 1.2 MB
    const c = client(gh);
    const r1 = await pushFolder(dir, { target: target(), client: c, rotateAtBytes: 0 });
    assert.strictEqual(r1.appended, ids.length);
    assert.ok(gh.file(REPO, LOG)!.length > ONE_MB);
    // The seed appends one record: it reads empty content (over 1 MB) and replaces the file.
    const seed = await seedAppend(gh.url, REPO, 'test-token', { type: 'interaction', session_id: 'seed-1', query: 'hi', answer: 'hello' });
    assert.deepStrictEqual([seed.get, seed.put, seed.readBytes], [200, 200, 0]);
    assert.strictEqual(gh.file(REPO, LOG)!.toString().trim().split('\n').length, 1, 'the seed replaced the file with its one record');
    // A session's journal is gone here meanwhile: its records cannot be pushed again.
    fs.rmSync(path.join(dir, '_turn_journal', 's19~4242.jsonl'));
    const gone = ids.filter((id) => id.startsWith('s19/'));
    const before = c.stats.requests;
    const r2 = await pushFolder(dir, { target: target(), client: c, rotateAtBytes: 0 });
    assert.strictEqual(r2.vanished.length, ids.length);
    assert.strictEqual(r2.restored.length, ids.length - gone.length);
    assert.deepStrictEqual(r2.lost, gone);
    assert.strictEqual(r2.findings.length, 1);
    assert.strictEqual(r2.findings[0].kind, 'log_rewritten');
    assert.strictEqual(r2.findings[0].severity, 'error', 'records were lost');
    assert.match(r2.findings[0].message, /was rewritten: 160 records pushed earlier were gone\. 152 pushed again; 8 could not be/);
    // The large-file path it learned: branch, raw read, the one look for rotated parts, blob, tree, commit, ref.
    assert.strictEqual(c.stats.requests - before, 7, 'the ledger check costs no request of its own');
    const log = gh.file(REPO, LOG)!.toString();
    assert.ok(log.includes('"session_id": "seed-1"'), "the seed's record is kept");
    const after = idsOf(
      log
        .split('\n')
        .filter((l) => l.includes('"id"'))
        .join('\n'),
    );
    assert.strictEqual(after.length, new Set(after).size, 'no record twice');
    assert.deepStrictEqual(new Set(after), new Set(ids.filter((id) => !id.startsWith('s19/'))));
    // The lost ones are not reported again; when their journal comes back they are pushed again.
    const r3 = await pushFolder(dir, { target: target(), client: c, rotateAtBytes: 0 });
    assert.deepStrictEqual([r3.vanished.length, r3.appended], [0, 0]);
    writeSession(dir, 's19', 9, { userText: (i) => `q${i} ` + 'x'.repeat(7 * 1024) });
    const r4 = await pushFolder(dir, { target: target(), client: c, rotateAtBytes: 0 });
    assert.strictEqual(r4.appended, gone.length);
    const final = gh
      .file(REPO, LOG)!
      .toString()
      .split('\n')
      .filter((l) => l.includes('"id"'))
      .map((l) => JSON.parse(l).id as string);
    assert.strictEqual(final.length, ids.length);
    assert.deepStrictEqual(new Set(final), new Set(ids), 'every record present exactly once');
  });

  it('rotates before 900 KB in one commit: no commit ever shows fewer records; pull and the ledger check read every part', async () => {
    const c = client(gh);
    const seen: string[] = [];
    const commits: number[] = [];
    let dir = '';
    for (let round = 0; round < 4; round++) {
      const f = bigFolder(6, 9, 7, `r${round}-`); // 48 records, about 350 KB per round
      dir = f.dir;
      const r = await pushFolder(dir, { target: target(), client: c });
      seen.push(...f.ids);
      commits.push(gh.commitCount(REPO));
      if (round === 2) assert.strictEqual(r.rotatedTo, partPath(LOG, 1), 'the third round would pass 900 KB');
      // The seed appends between our pushes: the active file stays under 1 MB, so it never wipes.
      const s = await seedAppend(gh.url, REPO, 'test-token', { type: 'interaction', session_id: `seed-${round}`, query: 'q', answer: 'a' });
      assert.ok(s.readBytes > 0, 'the seed could read the active file');
      assert.ok(gh.file(REPO, LOG)!.length < 900 * 1024);
    }
    assert.deepStrictEqual(commits, [2, 4, 6, 8], 'one commit per push (the seed makes the others), rotation included');
    const all = wholeLog();
    assert.deepStrictEqual(all.filter((id) => !id.startsWith('seed:')).length, seen.length);
    assert.strictEqual(all.filter((id) => id.startsWith('seed:')).length, 4, "the seed's records are all kept");
    assert.deepStrictEqual(new Set(all.filter((id) => id.includes('/'))), new Set(seen));
    // Every commit on the branch holds at least the records of the one before (parts + active).
    const repo = gh.repos.get(REPO)!;
    let sha: string | undefined = repo.branches.get('main');
    const counts: number[] = [];
    while (sha) {
      const cm = repo.commits.get(sha)!;
      let n = 0;
      for (const [p, blob] of repo.trees.get(cm.tree)!)
        if (p.startsWith('data/'))
          n += repo.blobs
            .get(blob)!
            .toString()
            .split('\n')
            .filter((l) => l.trim()).length;
      counts.unshift(n);
      sha = cm.parents[0];
    }
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], `commit ${i} shows ${counts[i]} lines after ${counts[i - 1]}`);
    // Pull: every part in order, then the active file.
    const out = path.join(dir, 'pulled.jsonl');
    const p = await pullLog(c, target(), out);
    assert.strictEqual(p.parts, 1);
    const pulled = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { id?: string; session_id: string });
    assert.deepStrictEqual(
      pulled.map((r) => r.id ?? `seed:${r.session_id}`),
      all,
    );
    // The ledger check reads the parts: a record cut out of part 1 is found missing and restored.
    const part1 = gh.file(REPO, partPath(LOG, 1))!.toString();
    const victim = seen[0];
    assert.ok(part1.includes(victim));
    gh.writeFile(
      REPO,
      partPath(LOG, 1),
      part1
        .split('\n')
        .filter((l) => !l.includes(`"id":"${victim}"`))
        .join('\n'),
    );
    const dir0 = tempDir();
    writeSession(dir0, 'r0-0', 9, { userText: (i) => `q${i} ` + 'x'.repeat(7 * 1024) });
    await pushFolder(dir0, { target: target(), client: c }); // learns (ledger) that its records are in the log
    gh.writeFile(
      REPO,
      partPath(LOG, 1),
      gh
        .file(REPO, partPath(LOG, 1))!
        .toString()
        .split('\n')
        .filter((l) => !l.includes(`"id":"${seen[1]}"`))
        .join('\n'),
    );
    const healed = await pushFolder(dir0, { target: target(), client: c });
    assert.deepStrictEqual(healed.restored, [seen[1]]);
    const ids = wholeLog().filter((id) => id.includes('/'));
    assert.strictEqual(ids.length, new Set(ids).size, 'each record once');
    assert.ok(ids.includes(seen[0]) && ids.includes(seen[1]));
  });

  it('rotates a log at the repository root too, numbering after the highest part', async () => {
    const c = client(gh);
    const t = target({ path: 'log.jsonl' });
    gh.writeFile(REPO, 'log-0007.jsonl', '{"id":"older"}\n');
    const hint = {};
    for (let i = 0; i < 3; i++)
      await pushRecords(recs(40 * (i + 1)), { target: t, client: c, rotateAtBytes: 2048, hint, expected: new Set([...recs(40 * i).keys()]) });
    assert.ok(gh.file(REPO, 'log-0008.jsonl') && gh.file(REPO, 'log-0009.jsonl'), 'parts 8 and 9 made after the existing 7');
    assert.strictEqual(gh.file(REPO, 'log-0007.jsonl')!.toString(), '{"id":"older"}\n', 'an existing part is never overwritten');
    const all = ['log-0008.jsonl', 'log-0009.jsonl', 'log.jsonl'].flatMap((p) => idsOf(gh.file(REPO, p)!));
    assert.deepStrictEqual(all, [...recs(120).keys()]);
  });

  it('rotation off: the active file grows past 1 MB on the Git Data API path', async () => {
    const { dir, ids } = bigFolder(20, 9, 7);
    const r = await pushFolder(dir, { target: target(), client: client(gh), rotateAtBytes: 0 });
    assert.strictEqual(r.rotatedTo, null);
    assert.strictEqual(idsOf(gh.file(REPO, LOG)!).length, ids.length);
    assert.strictEqual(gh.file(REPO, partPath(LOG, 1)), undefined);
  });
});
