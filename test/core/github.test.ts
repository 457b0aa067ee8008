import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { GithubClient, GithubError, type GithubClientOptions } from '../../src/core/github/client';
import { LEDGER_FILE, OUTBOX_FILE, Outbox } from '../../src/core/github/outbox';
import { collectRecords, interactionRecord, recordId, serializeRecord } from '../../src/core/github/records';
import { pushFolder, pushRecords, appendLines } from '../../src/core/github/push';
import { lastLines, pullLog } from '../../src/core/github/pull';
import type { GithubTarget } from '../../src/core/github/remote';
import { FakeGithub, ONE_MB, base64At60 } from '../support/fakeGithub';
import { idsOf, turnId, writeFeedback, writeSession } from '../support/githubFixtures';
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
    assert.deepStrictEqual(c.records.map((r) => r.id), [...ids, 'fb-1']);
    assert.strictEqual(c.interactions, 5);
    assert.strictEqual(c.skipped.length, 1); // "not json"; the torn tail is not yet a line
    const first = JSON.parse(c.records[0].line);
    assert.deepStrictEqual(Object.keys(first), ['type', 'version', 'id', 'session_id', 'turn_id', 'state', 'created_at', 'completed_at', 'model', 'model_provider', 'user', 'assistant']);
    assert.strictEqual(first.user, 'line\u2028sep');
    assert.strictEqual(first.assistant, 'answer 0 of s1');
    assert.ok(c.records[0].line.includes('\\u2028'), 'U+2028 escaped so splitlines() readers keep the record whole');
    const interrupted = JSON.parse(c.records[4].line);
    assert.strictEqual(interrupted.state, 'interrupted');
    assert.strictEqual(interrupted.reason, 'cancelled');
    assert.strictEqual(recordId(c.records[5].line), 'fb-1');
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
    const r1 = await pushRecords(recs(3), { target: target(), client: c });
    assert.strictEqual(r1.appended, 3);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['r0', 'r1', 'r2']);
    assert.ok(c.stats.requests <= 4, `first push (file absent) took ${c.stats.requests} requests`);
    const before = c.stats.requests;
    const r2 = await pushRecords(recs(5), { target: target(), client: c });
    assert.strictEqual(r2.appended, 2);
    assert.strictEqual(r2.alreadyPresent, 3);
    assert.strictEqual(c.stats.requests - before, 2);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!), ['r0', 'r1', 'r2', 'r3', 'r4']);
    const r3 = await pushRecords(recs(5), { target: target(), client: c });
    assert.strictEqual(r3.appended, 0);
    assert.strictEqual(gh.commitCount(REPO), 3);
  });

  it('keeps prior bytes exactly: unparseable lines, CRLF, invalid UTF-8, no final newline', async () => {
    const prior = Buffer.concat([Buffer.from('{"id":"r1","type":"x"}\r\nnot json at all\n{"no":"id"}\n'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\n{"id":"old"}')]);
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
    const [ra, rb] = await Promise.all([pushRecords(a, { target: target(), client: client(gh), backoffBaseMs: 1 }), pushRecords(b, { target: target(), client: client(gh), backoffBaseMs: 1 })]);
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
    await assert.rejects(c.request('PUT /repos/acme/bot/contents/data/interactions.jsonl', { message: 'm', content: '', sha: 'nope' }), (e: GithubError) => e.kind === 'invalid' && /not a valid blob sha/.test(e.message));
    await assert.rejects(c.request('PUT /repos/acme/bot/contents/data/interactions.jsonl', { message: 'm', content: '' }), (e: GithubError) => e.kind === 'conflict' && /"sha" wasn't supplied/.test(e.message));
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
    assert.ok(waits.some((w) => /no answer within/.test(w)), waits.join('; '));
    // Every request fails: the push fails with a transient error after bounded attempts.
    gh.randomFaults = { rate: 1, kinds: ['status500'] };
    await assert.rejects(pushRecords(recs(3), { target: target(), client: client(gh, { retries: 1 }), maxAttempts: 2, backoffBaseMs: 1 }), (e: GithubError) => e.kind === 'server' && /Nothing was lost/.test(e.message));
  });

  it('uses the Git Data API over 1 MB: ≤ 6 requests, prior bytes untouched, 422 non-fast-forward retried', async () => {
    const big = Buffer.from(Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ id: `old${i}`, pad: 'x'.repeat(80) }) + '\n').join(''));
    assert.ok(big.length > ONE_MB);
    gh.createRepo(REPO, { [LOG]: big, 'other.txt': 'keep me' });
    const c = client(gh);
    gh.resetLog();
    const r = await pushRecords(recs(10), { target: target({ branch: 'main' }), client: c });
    assert.strictEqual(r.via, 'git');
    const after = gh.file(REPO, LOG)!;
    assert.ok(after.subarray(0, big.length).equals(big));
    assert.deepStrictEqual(idsOf(after.subarray(big.length)), [...recs(10).keys()]);
    assert.strictEqual(gh.file(REPO, 'other.txt')!.toString(), 'keep me');
    assert.ok(!gh.log.some((l) => l.method === 'PUT'), 'no Contents API PUT for a large file');
    assert.ok(gh.log.length <= 7, `first large push: ${gh.log.length} requests`);
    // What the first push learned (the file is large) makes the next one 6 requests, also
    // without a branch setting (the default branch is remembered).
    const hint = { large: true };
    await pushRecords(recs(11), { target: target(), client: c, hint });
    gh.resetLog();
    await pushRecords(recs(11).set('extra', '{"id":"extra"}'), { target: target(), client: c, hint });
    assert.deepStrictEqual(gh.log.map((l) => `${l.method} ${l.path.replace(/\?.*/, '')}`), [
      'GET /repos/acme/bot/branches/main',
      'GET /repos/acme/bot/contents/data/interactions.jsonl',
      'POST /repos/acme/bot/git/blobs',
      'POST /repos/acme/bot/git/trees',
      'POST /repos/acme/bot/git/commits',
      'PATCH /repos/acme/bot/git/refs/heads/main',
    ]);
    // Non-fast-forward: someone commits between our read and our ref update.
    let raced = false;
    const r2 = await pushRecords(recs(12), {
      target: target({ branch: 'main' }),
      client: c,
      backoffBaseMs: 1,
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
    const r = await pushRecords(many, { target: target(), client: client(gh) });
    assert.strictEqual(r.via, 'git');
    const ids = idsOf(gh.file(REPO, LOG, 'trunk')!);
    assert.strictEqual(ids.length, 9001);
    assert.strictEqual(new Set(ids).size, 9001);
  });

  it('names the problem: bad token, read-only token, missing repository or branch', async () => {
    gh.createRepo(REPO, {});
    gh.tokens = { 'test-token': 'write', ro: 'read' };
    const bad = new GithubClient({ token: 'nope', apiUrl: gh.url, writeSpacingMs: 0 });
    await assert.rejects(pushRecords(recs(1), { target: target(), client: bad }), (e: GithubError) => e.kind === 'auth' && /401 Bad credentials/.test(e.message) && !e.message.includes('nope'));
    const ro = new GithubClient({ token: 'ro', apiUrl: gh.url, writeSpacingMs: 0 });
    await assert.rejects(pushRecords(recs(1), { target: target(), client: ro }), (e: GithubError) => e.kind === 'permission' && /contents: write/.test(e.message));
    await assert.rejects(pushRecords(recs(1), { target: { owner: 'acme', repo: 'nope', path: LOG }, client: client(gh) }), (e: GithubError) => e.kind === 'not_found' && /Repository acme\/nope not found/.test(e.message));
    await assert.rejects(pushRecords(recs(1), { target: target({ branch: 'dev' }), client: client(gh) }), (e: GithubError) => e.kind === 'not_found' && /Branch "dev" not found/.test(e.message));
  });

  it('waits out primary and secondary rate limits, saying so', async () => {
    gh.createRepo(REPO, {});
    gh.rateLimit('primary403', 'secondary429');
    const waits: string[] = [];
    const c = new GithubClient({ token: 'test-token', apiUrl: gh.url, writeSpacingMs: 0, onWait: (reason, s) => waits.push(`${reason}:${s}`) });
    const r = await pushRecords(recs(2), { target: target(), client: c });
    assert.strictEqual(r.appended, 2);
    assert.deepStrictEqual(waits.map((w) => w.split(':')[0]), ['rate-limit', 'secondary-rate-limit']);
    // A limit longer than we accept fails with the reset time, as a rate-limit error.
    gh.rateLimit('primary429', 'primary429', 'primary429', 'primary429');
    const c2 = new GithubClient({ token: 'test-token', apiUrl: gh.url, writeSpacingMs: 0, maxRateLimitWaitSeconds: 0 });
    await assert.rejects(pushRecords(recs(3), { target: target(), client: c2 }), (e: GithubError) => e.kind === 'rate_limit' && /try again until/.test(e.message));
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
    assert.deepStrictEqual(r, { exists: true, bytes: 42, lines: 4, records: 3, unparsed: 1 });
    assert.strictEqual(fs.readFileSync(out, 'utf8'), '{"id":"a"}\nnot json\n\n{"id":"b"}\n{"id":"c"}');
    await pullLog(client(gh), target(), out, { last: 2 });
    assert.strictEqual(fs.readFileSync(out, 'utf8'), '{"id":"b"}\n{"id":"c"}\n');
    const big = Buffer.alloc(2 * ONE_MB, 'z');
    gh.writeFile(REPO, LOG, Buffer.concat([big, Buffer.from('\n{"id":"last"}\n')]));
    const c = client(gh);
    const r2 = await pullLog(c, target(), out);
    assert.strictEqual(r2.bytes, big.length + 15);
    assert.strictEqual(c.stats.requests, 1);
    assert.strictEqual((await pullLog(c, target({ path: 'nope.jsonl' }), out)).exists, false);
  });

  it('helpers: lastLines, appendLines, base64 at 60 columns', () => {
    assert.strictEqual(lastLines(Buffer.from('a\nb\n\nc\n'), 2).toString(), 'b\n\nc\n');
    assert.strictEqual(lastLines(Buffer.from('a\nb'), 5).toString(), 'a\nb\n');
    assert.strictEqual(appendLines(Buffer.from('x'), ['y']).toString(), 'x\ny\n');
    assert.strictEqual(appendLines(Buffer.alloc(0), ['y']).toString(), 'y\n');
    assert.ok(base64At60(Buffer.alloc(100)).split('\n').every((l) => l.length <= 60));
  });
});
