#!/usr/bin/env node
// UI check of the turn timeline in the real VS Code 1.139.1 web workbench (code-server's
// server + headless Debian chromium, see scripts/vscode-test/*.mjs):
//
// 1. XSS proof: opens (through Quick Open, as a user would) a session whose messages, reply,
//    interruption reason, turn id and a malformed line carry <script>, <img onerror>,
//    javascript: links, <svg onload>, <iframe srcdoc> and lookalike HTML. Every payload tries
//    to set window.__pwned and/or call alert(). Asserts: no dialog opened, no frame (webview
//    iframes included) has __pwned, the cards contain no element made from the payloads
//    (img/script/svg/iframe/a), every payload shows verbatim as text, and the webview runs
//    under a nonce CSP.
// 2. Interaction: j/k move the selection, a lifecycle chip opens the raw shard at its line.
// 3. The run behind each turn (a session with hermes run journals): usage and cost in the card
//    heads, the session total in the header, the expanded run (reasoning, tool call with
//    arguments and result, approval, answer, warning, outcome), hostile run text as text; an
//    open turn "Running for …"; follow tail on/off by the person's own scrolling and the
//    "N new turns" pill with live appends to the shard.
// 4. Screenshots of the collisions, broken-lines and runs sessions in dark, light and
//    high-contrast themes (a server per theme), and of the hostile session:
//    screenshots/timeline-*.png, timeline-run-*.png.
//
// Run: `npm run test:ui` (builds first). Exit code 0 = all checks passed.
import fs from 'node:fs';
import path from 'node:path';
import { check, demoWorkspace, log, notificationText, repoRoot, runUi, settled, shots, step, waitStable, waitUntil } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, screenshot } from '../../scripts/vscode-test/browser.mjs';

// ---- the hostile session ----------------------------------------------------------------
const T0 = 1767225600;
export const PAYLOADS = [
  '<script>window.__pwned = "script"; alert("script")</script>',
  "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">",
  "<a href=\"javascript:window.__pwned='link';alert('link')\">click me</a>",
  '[markdown link](javascript:alert("md"))',
  '<svg onload="window.__pwned=\'svg\'"><circle r=5 /></svg>',
  '<iframe srcdoc="<script>parent.__pwned=\'iframe\'</script>"></iframe>',
  '"><b onmouseover="window.__pwned=\'attr\'">lookalike bold</b><!--',
  '&lt;b&gt;entities stay entities&lt;/b&gt; &amp; &#60;script&#62;',
  '</article></div><div class="card turn"><h1>fake card</h1></div>',
  '${alert("template")} {{constructor.constructor(\'alert(1)\')()}}',
];
/** Payloads whose Markdown reading differs from their source: the text the card must show instead. */
const RENDERED = {
  '[markdown link](javascript:alert("md"))': 'markdown link',
  '&lt;b&gt;entities stay entities&lt;/b&gt; &amp; &#60;script&#62;': '<b>entities stay entities</b> & <script>',
};
// Markdown attacks: links that must never be followed by the page (javascript:, reference, autolink),
// HTML inside code fences, images (data: and remote) that must never load.
export const MD_PAYLOADS = [
  "[js link](javascript:window.__pwned='mdlink')",
  "[ref link][evil]\n\n[evil]: javascript:window.__pwned='ref'",
  "autolink <javascript:window.__pwned='auto'> and https://example.com/safe",
  '```html\n<script>window.__pwned="fence"</script>\n<img src=x onerror="window.__pwned=\'fence-img\'">\n```',
  '![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9IndpbmRvdy5fX3B3bmVkPSdkYXRhJyI+PC9zdmc+) ![remote](https://example.com/track.png)',
  '```python\ndef f(x):\n    return x + 1  # code\n```',
  'line\u2028separator\u2029para\u0085nel \u202Eevil-rlo',
  'مرحبا بالعالم — שלום',
];
const EVIL_TURN = '20260101T000000Z-<img src=x onerror=alert(9)>';

function writeHostileSession(sessionsDir) {
  const journal = path.join(sessionsDir, '_turn_journal');
  fs.mkdirSync(journal, { recursive: true });
  const lines = [];
  const messages = [];
  const ev = (name, turn, at, extra = {}) => {
    const e = { version: 1, event: name, session_id: 'hostile', turn_id: turn, created_at: at, stream_id: `s-${at}`, ...extra };
    if (name === 'completed' || name === 'interrupted') e.terminal = true;
    lines.push(JSON.stringify(e));
  };
  [...PAYLOADS, ...MD_PAYLOADS].forEach((p, i) => {
    const turn = `20260101T0000${String(i).padStart(2, '0')}Z-${String(i).padStart(12, '0')}`;
    const at = T0 + i * 60;
    messages.push({ role: 'user', content: p, timestamp: at });
    messages.push({ role: 'assistant', content: `Reply ${i}: ${p}`, timestamp: at + 5 });
    ev('submitted', turn, at, { role: 'user', content: p, attachments: [], workspace: '/w', model: 'gpt-<b>bold</b>', model_provider: 'openai' });
    ev('worker_started', turn, at + 0.2);
    ev('assistant_started', turn, at + 1.1, { assistant_message_index: messages.length - 1 });
    ev('completed', turn, at + 4.2, { assistant_message_index: messages.length - 1 });
  });
  // An interruption reason and a turn id that are HTML, and a malformed line that is HTML.
  ev('submitted', EVIL_TURN, T0 + 900, { role: 'user', content: 'evil turn id', attachments: [], model: 'gpt-test', model_provider: 'x' });
  ev('interrupted', EVIL_TURN, T0 + 901, { reason: '<img src=x onerror="window.__pwned=\'reason\'">' });
  lines.push('<script>window.__pwned="raw line"</script> not json at all');
  fs.writeFileSync(path.join(journal, 'hostile~666.jsonl'), lines.join('\n') + '\n');
  fs.writeFileSync(
    path.join(sessionsDir, 'hostile.json'),
    JSON.stringify({ session_id: 'hostile', title: '<script>alert("title")</script> Hostile session', model: 'gpt-test', messages }, null, 2),
  );
}

// ---- a session with run journals and a live tail -----------------------------------------
const RUNS_SID = 'runs';
const RUN_EVIL = '<img src=x onerror="window.__pwned=\'run\'">';

function runJournalLines(runId, at, events) {
  return events.map(([event, payload], i) => {
    const terminal = ['done', 'stream_end', 'cancel', 'apperror', 'error'].includes(event);
    const state = event === 'done' || event === 'stream_end' ? 'completed' : event === 'apperror' ? 'errored' : null;
    return JSON.stringify({
      version: 1,
      event_id: `${runId}:${i + 1}`,
      seq: i + 1,
      run_id: runId,
      session_id: RUNS_SID,
      event,
      type: event,
      created_at: at + i * 0.1,
      terminal,
      terminal_state: state,
      payload,
    });
  });
}

/** 14 answered turns (each with a run journal: reasoning, a tool call, metering, …) and one open turn started just now. */
/** One line builder per turn of the runs session: `line(event, secondsAfterAt, extra)` (a `completed` is terminal). */
function runsTurnLine(turn, at, fixed = {}) {
  return (name, dt, extra = {}) =>
    JSON.stringify({
      version: 1,
      event: name,
      session_id: RUNS_SID,
      turn_id: turn,
      created_at: at + dt,
      ...fixed,
      ...extra,
      ...(name === 'completed' ? { terminal: true } : {}),
    });
}

function writeRunsSession(sessionsDir) {
  const journal = path.join(sessionsDir, '_turn_journal');
  const runs = path.join(sessionsDir, '_run_journal', RUNS_SID);
  fs.mkdirSync(journal, { recursive: true });
  fs.mkdirSync(runs, { recursive: true });
  const lines = [];
  const messages = [];
  const now = Date.now() / 1000;
  const t0 = now - 3600;
  for (let i = 0; i < 14; i++) {
    const turn = `20260101T01${String(i).padStart(2, '0')}00Z-run${String(i).padStart(9, '0')}`;
    const stream = `stream${String(i).padStart(4, '0')}`;
    const at = t0 + i * 120;
    messages.push({ role: 'user', content: `Question ${i}: what is ${i} squared?`, timestamp: at });
    messages.push({ role: 'assistant', content: `It is **${i * i}**.`, timestamp: at + 5 });
    const line = runsTurnLine(turn, at, { stream_id: stream });
    const ev = (name, dt, extra = {}) => lines.push(line(name, dt, extra));
    ev('submitted', 0, { role: 'user', content: `Question ${i}: what is ${i} squared?`, attachments: [], model: 'gpt-run', model_provider: 'openai' });
    ev('worker_started', 0.2);
    ev('assistant_started', 1, { assistant_message_index: messages.length - 1 });
    ev('completed', 4, { assistant_message_index: messages.length - 1 });
    const usage = (k) => ({ input_tokens: 1000 + i * 100 + k, output_tokens: 20 + i + k, estimated_cost: 0.001 * (i + 1), cache_read_tokens: 0 });
    fs.writeFileSync(
      path.join(runs, `${stream}.jsonl`),
      runJournalLines(stream, at + 0.5, [
        ['reasoning', { text: `Squaring ${i}. ${i === 12 ? RUN_EVIL : ''}` }],
        ['metering', { tps: 30, usage: usage(0) }],
        ['tool', { event_type: 'tool.started', name: 'calculator', preview: `${i}*${i}`, args: { expr: i === 12 ? RUN_EVIL : `${i}*${i}` } }],
        ['approval', { description: `allow calculator for ${i}?` }],
        ['tool_complete', { event_type: 'tool.completed', name: 'calculator', preview: String(i * i), args: {}, duration: 0.4, is_error: false }],
        ['token', { text: 'It is ' }],
        ['metering', { tps: 30, usage: usage(1) }],
        ['token', { text: `**${i * i}**.` }],
        ['warning', { type: 'fallback', message: i === 12 ? RUN_EVIL : 'used the backup model' }],
        ['done', { usage: usage(1) }],
        ['stream_end', { session_id: RUNS_SID }],
      ]).join('\n') + '\n',
    );
  }
  // An open turn, started seconds ago: "Running for …", not "never finished".
  lines.push(
    runsTurnLine('20260101T020000Z-open00000001', now - 5, { stream_id: 'streamopen' })('submitted', 0, {
      role: 'user',
      content: 'Still thinking?',
      attachments: [],
    }),
  );
  fs.writeFileSync(path.join(journal, `${RUNS_SID}~7.jsonl`), lines.join('\n') + '\n');
  fs.writeFileSync(
    path.join(sessionsDir, `${RUNS_SID}.json`),
    JSON.stringify({ session_id: RUNS_SID, title: 'Squares with runs', model: 'gpt-run', messages }, null, 2),
  );
  return path.join(journal, `${RUNS_SID}~7.jsonl`);
}

/** A session large enough to be sent windowed (> 2,000 rows): one far collision, one far unique word. */
const BIG_SID = 'big';
const BIG_TURNS = 2600;
const BIG_COLLISION = 2480;
const BIG_WORD = 2350;
const bigTurn = (n) => `20260101T050000Z-${n.toString(16).padStart(12, '0')}`;
function bigTurnLines(n, at) {
  const ev = runsTurnLine(bigTurn(n), at);
  const text = n === BIG_WORD ? 'Is the azulejo museum open on Mondays?' : `Question ${n}: which train goes from Lisbon to Porto at ${n % 24}:00?`;
  return [ev('submitted', 0, { role: 'user', content: text, attachments: [] }), ev('worker_started', 0.2), ev('completed', 3)].map((l) =>
    l.replace(`"session_id":"${RUNS_SID}"`, `"session_id":"${BIG_SID}"`),
  );
}
function writeBigSession(sessionsDir) {
  const journal = path.join(sessionsDir, '_turn_journal');
  fs.mkdirSync(journal, { recursive: true });
  const lines = [];
  for (let n = 0; n < BIG_TURNS; n++) {
    lines.push(...bigTurnLines(n, T0 + n * 30));
    if (n === BIG_COLLISION)
      lines.push(
        JSON.stringify({
          version: 1,
          event: 'interrupted',
          session_id: BIG_SID,
          turn_id: bigTurn(n),
          created_at: T0 + n * 30 + 9,
          terminal: true,
          reason: 'cancelled',
        }),
      );
  }
  fs.writeFileSync(path.join(journal, `${BIG_SID}~1.jsonl`), lines.join('\n') + '\n');
  fs.writeFileSync(
    path.join(sessionsDir, `${BIG_SID}.json`),
    JSON.stringify({ session_id: BIG_SID, title: 'A long windowed session', model: 'gpt-big', messages: [] }),
  );
  return path.join(journal, `${BIG_SID}~1.jsonl`);
}

/** Full cards and placeholders in a timeline frame, once no placeholder is left (a windowed session's rows arrived). */
async function windowSettled(frame) {
  await waitUntil(() => frame.evaluate(() => document.querySelectorAll('article.card').length > 0 && !document.querySelector('article.card.stub')), {
    timeout: 15_000,
  });
  return frame.evaluate(() => ({
    turns: [...document.querySelectorAll('article.card.turn')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index)).map((c) => c.dataset.turnId),
    stubs: document.querySelectorAll('article.card.stub').length,
    elements: document.getElementsByTagName('*').length,
    hits: document.getElementById('hits')?.textContent ?? '',
  }));
}

/** Appends one completed turn to the live shard (as upstream's writer would, a line at a time). */
function appendTurn(shard, n) {
  const at = Date.now() / 1000;
  const turn = `20260101T03${String(n).padStart(2, '0')}00Z-live${String(n).padStart(8, '0')}`;
  const ev = runsTurnLine(turn, at);
  fs.appendFileSync(shard, [ev('submitted', 0, { role: 'user', content: `Live question ${n}`, attachments: [] }), ev('completed', 1)].join('\n') + '\n');
  return turn;
}

/** Scrolls the timeline with the mouse wheel (a person's scroll) over its list. */
async function wheel(page, frame, dy) {
  const box = await frame.locator('#scroller').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, dy);
}

/** Opens the run of the card at `index` among the rendered turn cards with a run; returns its items' kinds. */
async function openRun(frame, turnId) {
  await frame.locator(`article.card[data-turn-id="${turnId}"] button.run-toggle`).click();
  await waitUntil(() => frame.evaluate((id) => document.querySelectorAll(`article.card[data-turn-id="${id}"] .run-items .run-item`).length > 0, turnId), {
    timeout: 10_000,
  });
  return frame.evaluate((id) => [...document.querySelectorAll(`article.card[data-turn-id="${id}"] .run-items .run-item`)].map((e) => e.dataset.kind), turnId);
}

// ---- helpers ------------------------------------------------------------------------------
async function quickOpen(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(name);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
  await row.waitFor({ state: 'visible', timeout: 60000 });
  // The list is filtered as the name is typed: wait until its first row is the file.
  await waitUntil(async () => (await row.innerText().catch(() => '')).includes(name.split('~')[0]));
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 15000 }).catch(() => {});
}

/** The webview frame of the timeline showing `title` (waits until its cards are rendered). */
async function timelineFrame(page, title, timeout = 30000) {
  const until = Date.now() + timeout;
  for (;;) {
    for (const frame of page.frames()) {
      const ok = await frame
        .evaluate((t) => !!document.querySelector('article.card') && (document.querySelector('.session-header .title')?.textContent ?? '').includes(t), title)
        .catch(() => false);
      if (ok) return frame;
    }
    if (Date.now() > until) throw new Error(`no timeline webview showing "${title}" after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 200)); // polling: the next look at the frames
  }
}

async function waitForThemeClass(page, cls, timeout = 15000) {
  return (await waitUntil(() => page.evaluate((c) => document.querySelector('.monaco-workbench')?.classList.contains(c), cls), { timeout })) === true;
}

/** The number of cards a timeline frame has rendered, once it stops changing. */
function cardsSettled(frame) {
  return waitStable(() => frame.evaluate(() => document.querySelectorAll('article.card').length));
}

// ---- main ---------------------------------------------------------------------------------
async function main() {
  await ensureInstalled({ log });
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'webview', 'timeline.js')))
    throw new Error('dist/ is not built: run `node esbuild.js` (npm run test:ui does)');
  const { tmp: root, ws: workspace } = demoWorkspace('bma-ui-timeline-');
  writeHostileSession(path.join(workspace, 'hostile'));
  const runsShard = writeRunsSession(path.join(workspace, 'runs'));
  const bigShard = writeBigSession(path.join(workspace, 'big'));

  const server = await startServer({
    log,
    settings: { 'workbench.colorTheme': 'Default Dark Modern', 'window.zoomLevel': 0, 'workbench.activityBar.location': 'default' },
  });
  const browser = await launchBrowser({ log, viewport: { width: 1400, height: 900 } });
  const dialogs = [];
  try {
    const { page } = browser;
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    await openWorkbench(page, server.url(workspace, [['extensionDevelopmentPath', repoRoot]]));

    // ---- 1. hostile session ----
    await step('hostile session', async () => {
      await quickOpen(page, 'hostile~666.jsonl');
      const frame = await timelineFrame(page, 'Hostile session');
      await cardsSettled(frame);
      // Scroll through every card so all of them have been rendered at least once.
      const seenTexts = await frame.evaluate(async () => {
        const scroller = document.getElementById('scroller');
        const texts = new Set();
        for (let y = 0; y <= scroller.scrollHeight; y += 300) {
          scroller.scrollTop = y;
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
          for (const el of document.querySelectorAll('.msg .text, pre.raw, .reason code, .turn-id, .session-header .title')) texts.add(el.textContent);
        }
        scroller.scrollTop = 0;
        return [...texts];
      });
      for (const p of PAYLOADS) {
        const want = RENDERED[p] ?? p;
        check(seenTexts.some((t) => t === want) && seenTexts.some((t) => t === `Reply ${PAYLOADS.indexOf(p)}: ${want}`), `shows as text: ${p.slice(0, 60)}`);
      }
      // Markdown: what each attack became, read from the real DOM of every card.
      const md = await frame.evaluate(async () => {
        const scroller = document.getElementById('scroller');
        const out = {
          links: new Set(),
          hrefs: 0,
          fenceText: new Set(),
          hljs: 0,
          images: new Set(),
          invisible: new Set(),
          dirAuto: 0,
          texts: 0,
          onAttrs: 0,
          srcAttrs: 0,
        };
        for (let y = 0; y <= scroller.scrollHeight; y += 300) {
          scroller.scrollTop = y;
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
          for (const a of document.querySelectorAll('#feed a.md-link')) out.links.add(`${a.textContent}=>${a.dataset.href}`);
          out.hrefs += document.querySelectorAll('#feed a[href], #feed [src], #feed [srcset], #feed .msg [style]').length;
          for (const c of document.querySelectorAll('#feed pre.md-code')) out.fenceText.add(c.textContent);
          out.hljs += document.querySelectorAll('#feed pre.md-code span[class^="hljs-"]').length;
          for (const i of document.querySelectorAll('#feed .md-image')) out.images.add(i.textContent);
          for (const i of document.querySelectorAll('#feed .invisible-char')) out.invisible.add(i.textContent);
          for (const t of document.querySelectorAll('#feed .msg .text')) {
            out.texts++;
            if (t.getAttribute('dir') === 'auto') out.dirAuto++;
          }
          for (const el of document.querySelectorAll('#feed *')) for (const at of el.getAttributeNames()) if (/^on/i.test(at)) out.onAttrs++;
        }
        scroller.scrollTop = 0;
        return { ...out, links: [...out.links], fenceText: [...out.fenceText], images: [...out.images], invisible: [...out.invisible] };
      });
      check(
        md.links.includes("js link=>javascript:window.__pwned='mdlink'"),
        `javascript: link shown with its target, not followable (${md.links.length} links)`,
      );
      check(md.links.includes("ref link=>javascript:window.__pwned='ref'"), 'reference link to javascript: shown, not followable');
      check(
        md.links.some((l) => l.startsWith("javascript:window.__pwned='auto'=>")) && md.links.includes('https://example.com/safe=>https://example.com/safe'),
        'autolinks shown as links without href',
      );
      check(
        md.hrefs === 0 && md.onAttrs === 0,
        `no href/src/srcset attribute in the feed, no style in messages, no on* attribute anywhere (${md.hrefs}, ${md.onAttrs})`,
      );
      check(
        md.fenceText.some((t) => t.includes('<script>window.__pwned="fence"</script>') && t.includes('onerror=')),
        'HTML inside a code fence is shown as code text',
      );
      check(md.hljs > 0, `code fences are syntax-highlighted (${md.hljs} hljs spans)`);
      check(
        md.images.some((t) => t.includes('image: pixel') && t.includes('data:image/svg+xml')) && md.images.some((t) => t.includes('image: remote')),
        `images are not loaded, shown as text (${md.images.length})`,
      );
      check(
        ['⟨LS⟩', '⟨PS⟩', '⟨NEL⟩', '⟨RLO⟩'].every((m) => md.invisible.includes(m)),
        `invisible separators shown as markers (${md.invisible.join(' ')})`,
      );
      check(md.texts > 0 && md.dirAuto === md.texts, `dir="auto" on every message text (${md.dirAuto}/${md.texts})`);
      check(
        seenTexts.some((t) => t.includes('<img src=x onerror="window.__pwned=\'reason\'">')),
        'interruption reason shown verbatim',
      );
      check(
        seenTexts.some((t) => t.startsWith(EVIL_TURN)),
        'hostile turn id shown verbatim',
      );
      check(
        seenTexts.some((t) => t.startsWith('<script>window.__pwned="raw line"</script>')),
        'malformed line shown verbatim',
      );
      check(
        seenTexts.some((t) => t.startsWith('<script>alert("title")</script>')),
        'hostile title shown verbatim',
      );
      const injected = await frame.evaluate(
        () =>
          document.querySelectorAll(
            '#feed img, #feed script, #feed svg, #feed iframe, #feed a[href], #feed h1, #feed b, #feed style, #feed link, #feed object, #feed embed, .session-header img, .session-header script',
          ).length,
      );
      check(injected === 0, `no element created from transcript text (found ${injected})`);
      const csp = await frame.evaluate(() => {
        const doc = document;
        return doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
      });
      check(/script-src 'nonce-[^']+'/.test(csp) && /default-src 'none'/.test(csp) && !csp.includes('unsafe-inline'), `strict CSP with a nonce (${csp})`);
      // Hover and click the payload texts: nothing may run or navigate.
      const before = frame.url();
      const texts = frame.locator('.msg .text');
      const n = Math.min(await texts.count(), 6);
      for (let i = 0; i < n; i++) {
        await texts
          .nth(i)
          .hover()
          .catch(() => {});
        await texts
          .nth(i)
          .click()
          .catch(() => {});
      }
      // A navigation or script would run while the clicks are handled: wait until the frame has handled them.
      await settled(frame);
      await settled(page.mainFrame());
      check(frame.url() === before, 'clicking payload text does not navigate the webview');
      const pwned = [];
      for (const f of page.frames()) {
        const v = await f.evaluate(() => window.__pwned).catch(() => undefined);
        if (v !== undefined) pwned.push(`${f.url()}: ${v}`);
      }
      check(pwned.length === 0, `no frame has window.__pwned${pwned.length ? ` (${pwned.join('; ')})` : ''}`);
      check(dialogs.length === 0, `no alert/confirm dialog${dialogs.length ? ` (${dialogs.join('; ')})` : ''}`);
      await screenshot(page, path.join(shots, 'timeline-hostile.png'));
      // Clicking links: javascript: is refused by the host; https asks first (a VS Code modal), Cancel opens nothing.
      const scrollToLink = (text) =>
        frame.evaluate(async (t) => {
          const scroller = document.getElementById('scroller');
          for (let y = 0; y <= scroller.scrollHeight; y += 300) {
            scroller.scrollTop = y;
            await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
            const a = [...document.querySelectorAll('a.md-link')].find((x) => x.textContent.includes(t));
            if (a) {
              a.scrollIntoView({ block: 'center' });
              await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
              return true;
            }
          }
          return false;
        }, text);
      await scrollToLink('js link');
      const jsLink = frame.locator('a.md-link', { hasText: 'js link' }).first();
      await jsLink.click();
      const refused = await notificationText(page, /were? not opened|was not opened/, 10_000);
      check(/only as http, https or mailto/.test(refused), `a javascript: link is refused by the host (${refused.split('\n')[0]})`);
      await scrollToLink('https://example.com/safe');
      const safe = frame.locator('a.md-link', { hasText: 'https://example.com/safe' }).first();
      await safe.click();
      const modal = page.locator('.monaco-dialog-box');
      await modal.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {});
      const modalText = (await modal.innerText().catch(() => '')).replace(/\s+/g, ' ');
      check(
        /Open a link from the transcript\?/.test(modalText) && modalText.includes('https://example.com/safe'),
        `an https link asks first, naming the target (${modalText.slice(0, 120)})`,
      );
      await screenshot(page, path.join(shots, 'timeline-link-confirm.png'));
      await page.keyboard.press('Escape');
      await settled(page.mainFrame());
      check(frame.url() === before && page.frames().every((f) => !f.url().includes('example.com')), 'cancelled: nothing navigated');
    });

    // ---- 2. a story with collisions: keyboard, chips, themes ----
    await step('collisions session', async () => {
      await quickOpen(page, '2d8a6e9f1c57~60533.jsonl');
      const story = await timelineFrame(page, '京都と大阪');
      await cardsSettled(story);
      await story
        .locator('article.card')
        .first()
        .click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('j');
      await page.keyboard.press('j');
      const focused = () =>
        story.evaluate(() => ({ active: document.activeElement?.getAttribute('data-key'), pos: document.activeElement?.getAttribute('aria-posinset') }));
      await waitUntil(async () => (await focused()).pos === '3', { timeout: 5000 });
      const sel = await focused();
      check(sel.pos === '3', `j j moves focus to the third card (${JSON.stringify(sel)})`);
      await page.keyboard.press('k');
      await waitUntil(async () => (await focused()).pos === '2', { timeout: 5000 });
      const sel2 = (await focused()).pos;
      check(sel2 === '2', `k moves back (${sel2})`);
      const collisions = await story.evaluate(() => document.querySelectorAll('article.card.collision .collision-banner').length);
      check(collisions >= 1, `terminal collisions are marked (${collisions} rendered)`);

      await screenshot(page, path.join(shots, 'timeline-dark.png'));

      // A lifecycle chip opens the raw shard at that event's line, beside the timeline.
      const chip = story.locator('button.chip.step').first();
      const chipTitle = (await chip.getAttribute('title')) ?? '';
      const m = /Open (\S+) at line (\d+)/.exec(chipTitle);
      await chip.click();
      let tabs = [];
      let textEditor = 0;
      let cursor = '';
      await waitUntil(
        async () => {
          tabs = await page.evaluate(() => [...document.querySelectorAll('.tabs-container .tab')].map((t) => t.getAttribute('aria-label')));
          textEditor = await page.locator('.editor-instance .monaco-editor .view-lines').count();
          cursor = await page.evaluate(() => document.querySelector('.statusbar [id="status.editor.selection"]')?.textContent ?? '');
          return m && textEditor > 0 && tabs.some((t) => t?.includes(m[1]) && t.includes('Editor Group 2')) && cursor.includes(`Ln ${m[2]}`);
        },
        { timeout: 12_000, interval: 200 },
      );
      check(
        !!m && textEditor > 0 && tabs.some((t) => t?.includes(m[1]) && t.includes('Editor Group 2')),
        `a chip opens ${m?.[1]} line ${m?.[2]} as text beside the timeline (tabs: ${tabs.join(' | ')})`,
      );
      check(!!m && cursor.includes(`Ln ${m[2]}`), `the raw line is selected (${cursor})`);
      await screenshot(page, path.join(shots, 'timeline-open-line.png'));
    });

    // ---- 3. torn, glued and malformed lines where they sit ----
    await step('broken lines session', async () => {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('W'); // close all editors
      await waitUntil(async () => (await page.locator('.tabs-container .tab').count()) === 0, { timeout: 5000 });
      await quickOpen(page, '4e2c7a9b0d13~51877.jsonl');
      const broken = await timelineFrame(page, 'Rust lifetimes');
      const kinds = await broken.evaluate(() => [...document.querySelectorAll('article.card.line')].map((c) => c.className));
      check(
        kinds.some((k) => k.includes('problem-glued')) && kinds.some((k) => k.includes('problem-torn')),
        `torn and glued lines rendered (${kinds.length} line cards)`,
      );
      await screenshot(page, path.join(shots, 'timeline-broken-lines.png'));
    });

    // ---- 4. the run behind each turn, follow tail and the "new" pill, an open turn running ----
    await step('runs session: run view, usage, follow tail', async () => {
      await quickOpen(page, `${RUNS_SID}~7.jsonl`);
      const frame = await timelineFrame(page, 'Squares with runs');
      await cardsSettled(frame);
      const total = await waitUntil(
        () => frame.evaluate(() => ((t) => (/\(14 runs\)/.test(t) ? t : ''))(document.querySelector('.session-header .run-total')?.textContent ?? '')),
        { timeout: 15_000 },
      );
      check(/in · .* out · \$/.test(total ?? '') && /14 runs/.test(total ?? ''), `the header sums the 14 runs' usage (${total})`);
      const usage = await waitUntil(
        () =>
          frame
            .evaluate(() => [...document.querySelectorAll('article.card .card-head .run-usage')].map((e) => e.textContent).filter((t) => / in · /.test(t)))
            .then((a) => (a.length >= 3 ? a : null)),
        { timeout: 10_000 },
      );
      check(usage?.length >= 3, `cards on screen show their run's tokens and cost (${usage?.slice(0, 3).join(' | ')})`);
      // The first turn: 1001 in, 21 out, $0.001 from its last metering event.
      check(usage?.[0]?.includes('1,001 in · 21 out · $0.0010'), `the first card's usage is its last metering event (${usage?.[0]})`);
      const firstTurn = await frame.evaluate(() => document.querySelector('article.card.turn')?.dataset.turnId);
      const kinds = await openRun(frame, firstTurn);
      check(
        ['reasoning', 'tool', 'approval', 'answer', 'warning', 'terminal'].every((k) => kinds.includes(k)),
        `the run view shows reasoning, the tool call, approval, streamed answer, warning and outcome (${kinds.join(',')})`,
      );
      const tool = await frame.evaluate((id) => document.querySelector(`article.card[data-turn-id="${id}"] .run-tool`)?.textContent ?? '', firstTurn);
      check(
        tool.includes('calculator') && tool.includes('Arguments') && tool.includes('Result'),
        `the tool call has arguments and result (${tool.slice(0, 80)})`,
      );
      await screenshot(page, path.join(shots, 'timeline-run-dark.png'));

      // Hostile run text stays text.
      const evilTurn = '20260101T011200Z-run000000012';
      await frame.evaluate((id) => {
        const i = [...document.querySelectorAll('article.card.turn')].findIndex((c) => c.dataset.turnId === id);
        if (i < 0) document.getElementById('scroller').scrollTop = document.getElementById('scroller').scrollHeight;
      }, evilTurn);
      await waitUntil(() => frame.evaluate((id) => !!document.querySelector(`article.card[data-turn-id="${id}"]`), evilTurn), { timeout: 5000 });
      await openRun(frame, evilTurn);
      const evil = await frame.evaluate((id) => {
        const c = document.querySelector(`article.card[data-turn-id="${id}"] .run`);
        return { text: c?.textContent ?? '', imgs: c?.querySelectorAll('img,script,iframe,svg').length ?? -1, pwned: window.__pwned ?? null };
      }, evilTurn);
      check(
        evil.imgs === 0 && evil.pwned === null && evil.text.includes('onerror='),
        `run text with HTML shows as text (${evil.imgs} elements, pwned ${evil.pwned})`,
      );

      // The open turn started seconds ago is running, not "never finished".
      await frame.evaluate(() => (document.getElementById('scroller').scrollTop = document.getElementById('scroller').scrollHeight));
      const banner = await waitUntil(() => frame.evaluate(() => document.querySelector('.open-banner')?.textContent ?? ''), { timeout: 5000 });
      check(/Running for \d/.test(banner ?? '') && !/never finished/.test(banner ?? ''), `an open turn says it is running (${banner})`);

      // Follow tail: a person's scroll to the bottom turns it on, scrolling up turns it off.
      const followOn = () => frame.evaluate(() => document.getElementById('follow').getAttribute('aria-pressed') === 'true');
      for (let i = 0; i < 4; i++) await wheel(page, frame, -5000);
      check(!(await followOn()), 'scrolled to the top: follow tail is off');
      for (let i = 0; i < 4; i++) await wheel(page, frame, 5000);
      check(await waitUntil(followOn, { timeout: 5000 }), 'scrolled to the bottom: follow tail is on');
      await wheel(page, frame, -600);
      check(await waitUntil(async () => !(await followOn()), { timeout: 5000 }), 'scrolled up: follow tail is off');
      const live1 = appendTurn(runsShard, 1);
      const pill = await waitUntil(
        () =>
          frame.evaluate(() => {
            const p = document.getElementById('new-pill');
            return p && !p.hidden ? p.textContent : '';
          }),
        { timeout: 15_000 },
      );
      check(/1 new turn/.test(pill ?? ''), `a turn appended below the fold shows the pill (${pill})`);
      const notShown = await frame.evaluate(
        (id) =>
          !document.querySelector(`article.card[data-turn-id="${id}"]`)?.getBoundingClientRect().top ||
          document.querySelector(`article.card[data-turn-id="${id}"]`).getBoundingClientRect().top > window.innerHeight,
        live1,
      );
      check(notShown, 'not following: the view did not jump to it');
      await screenshot(page, path.join(shots, 'timeline-new-pill.png'));
      await frame.locator('#new-pill').click();
      const atNew = await waitUntil(
        () =>
          frame.evaluate((id) => {
            const c = document.querySelector(`article.card[data-turn-id="${id}"]`);
            const r = c?.getBoundingClientRect();
            return !!r && r.bottom <= window.innerHeight + 2 && document.getElementById('new-pill').hidden;
          }, live1),
        { timeout: 5000 },
      );
      check(atNew && (await followOn()), 'the pill scrolls to the new turn and follows the tail again');
      const live2 = appendTurn(runsShard, 2);
      const followed = await waitUntil(
        () =>
          frame.evaluate((id) => {
            const c = document.querySelector(`article.card[data-turn-id="${id}"]`);
            const r = c?.getBoundingClientRect();
            return !!r && r.bottom <= window.innerHeight + 2;
          }, live2),
        { timeout: 15_000 },
      );
      check(
        followed && (await frame.evaluate(() => document.getElementById('new-pill').hidden)),
        'following: the next appended turn scrolls into view, no pill',
      );
    });

    // ---- 5. a session sent windowed: placeholders replaced as rows arrive, a far anomaly, search, follow tail ----
    await step('windowed session (2,600 turns)', async () => {
      await quickOpen(page, `${BIG_SID}~1.jsonl`);
      const frame = await timelineFrame(page, 'A long windowed session');
      let s = await windowSettled(frame);
      check(s.turns[0] === bigTurn(0) && s.elements < 3000, `opens at the top, full cards, bounded DOM (${s.turns.length} cards, ${s.elements} elements)`);
      // Far down at once (the scrollbar's length is every row's): placeholders, then the rows.
      await frame.evaluate(async () => {
        const scroller = document.getElementById('scroller');
        scroller.scrollTop = scroller.scrollHeight * 0.6;
        // The list renders on the next frame: until then the old cards (no placeholders) are still there.
        for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      });
      s = await windowSettled(frame);
      const middle = Number(s.turns[0]?.slice(-12) ? parseInt(s.turns[0].slice(-12), 16) : -1);
      check(middle > 1200 && middle < 2000 && s.stubs === 0, `scrolled to 60 %: turns from #${middle + 1} arrive in full`);
      await screenshot(page, path.join(shots, 'timeline-windowed-middle.png'));
      // The collision 2,480 turns down, through the state filter.
      await frame.locator('#status-filter').selectOption('collision');
      s = await windowSettled(frame);
      const banner = await frame.evaluate(() => document.querySelectorAll('article.card.collision .collision-banner').length);
      check(s.turns.join() === bigTurn(BIG_COLLISION) && banner === 1, `the collision filter shows the far collision in full (${s.turns.join()})`);
      await screenshot(page, path.join(shots, 'timeline-windowed-collision.png'));
      await frame.locator('#status-filter').selectOption('');
      // Search: answered by the host.
      await frame.locator('#search').fill('azulejo');
      await waitUntil(() => frame.evaluate(() => (document.getElementById('hits')?.textContent ?? '').startsWith('1 match')), { timeout: 15_000 });
      s = await windowSettled(frame);
      const marks = await frame.evaluate(() => document.querySelectorAll('article.card mark').length);
      check(s.turns.join() === bigTurn(BIG_WORD) && marks >= 1, `search finds the far turn (${s.hits}, ${marks} highlighted)`);
      await frame.locator('#search').fill('');
      await waitUntil(() => frame.evaluate(() => (document.getElementById('hits')?.textContent ?? '') === ''), { timeout: 15_000 });
      // Follow tail: the last turn in full, and an appended one arrives and is scrolled to.
      await frame.locator('#follow').click();
      s = await windowSettled(frame);
      check(s.turns.includes(bigTurn(BIG_TURNS - 1)), `follow tail shows the last turn (${s.turns.slice(-2).join(' ')})`);
      fs.appendFileSync(bigShard, bigTurnLines(BIG_TURNS, T0 + BIG_TURNS * 30).join('\n') + '\n');
      const arrived = await waitUntil(
        () =>
          frame.evaluate((id) => {
            const c = document.querySelector(`article.card.turn[data-turn-id="${id}"]`);
            const r = c?.getBoundingClientRect();
            return !!r && r.bottom <= window.innerHeight + 2;
          }, bigTurn(BIG_TURNS)),
        { timeout: 15_000 },
      );
      check(arrived, 'following: an appended turn arrives in full and is scrolled into view');
      await screenshot(page, path.join(shots, 'timeline-windowed-tail.png'));
    });
  } finally {
    await browser.close();
    await server.stop();
  }

  // ---- 4. the same sessions in the light and high-contrast themes (a server per theme) ----
  try {
    for (const [theme, cls, suffix] of [
      ['Default Light Modern', 'vs', 'light'],
      ['Default High Contrast', 'hc-black', 'hc'],
    ]) {
      await step(theme, async () => {
        const s2 = await startServer({ log, settings: { 'workbench.colorTheme': theme } });
        const b2 = await launchBrowser({ log, viewport: { width: 1400, height: 900 } });
        try {
          await openWorkbench(b2.page, s2.url(workspace, [['extensionDevelopmentPath', repoRoot]]));
          check(await waitForThemeClass(b2.page, cls), `workbench in ${theme}`);
          await quickOpen(b2.page, '2d8a6e9f1c57~60533.jsonl');
          await cardsSettled(await timelineFrame(b2.page, '京都と大阪'));
          await screenshot(b2.page, path.join(shots, `timeline-${suffix}.png`));
          await quickOpen(b2.page, '4e2c7a9b0d13~51877.jsonl');
          await cardsSettled(await timelineFrame(b2.page, 'Rust lifetimes'));
          await screenshot(b2.page, path.join(shots, `timeline-broken-lines-${suffix}.png`));
          await quickOpen(b2.page, `${RUNS_SID}~7.jsonl`);
          const rf = await timelineFrame(b2.page, 'Squares with runs');
          await cardsSettled(rf);
          await openRun(rf, await rf.evaluate(() => document.querySelector('article.card.turn')?.dataset.turnId));
          await screenshot(b2.page, path.join(shots, `timeline-run-${suffix}.png`));
        } finally {
          await b2.close();
          await s2.stop();
        }
      });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runUi(main);
