/**
 * Timeline benchmark: time to first render and DOM size of the real timeline webview bundle
 * (dist/webview/timeline.js) for sessions of 1k, 10k and 100k events, in headless Debian
 * chromium (playwright-core) with a stub `acquireVsCodeApi`.
 *
 * Per size: the session is written to a temp folder, read and analysed by the core
 * (SessionJournal), turned into the view-model, and cut into protocol messages by the same
 * TimelineFeed the editor uses. The page then receives the messages as the webview would
 * (JSON text parsed, dispatched as `message` events). Measured:
 *   - host: read + analyse, build model, serialise messages (ms)
 *   - first render: from the Reset message arriving to the first painted frame (ms)
 *   - all rows: until every Rows chunk has been applied and painted (ms)
 *   - DOM elements at the top, the middle and the end of the list (bounded by virtualisation)
 * Ratios are printed against the 1k run.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SessionJournal, shardFilesFor } from '../src/core/session';
import { buildTimelineModel } from '../src/core/timelineModel';
import { TimelineFeed } from '../src/extension/timeline/feed';
import type { Bench } from './harness';

export interface TimelineBenchRow {
  events: number;
  rows: number;
  hostMs: { analyze: number; model: number; serialize: number };
  firstRenderMs: number;
  allRowsMs: number;
  dom: { top: number; middle: number; end: number };
  renderedCards: number;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const T0 = 1767225600;

/** A deterministic session: 4 events per turn, a collision every 97 turns, a broken line every 211. */
export function writeSyntheticSession(dir: string, events: number): { sessionsDir: string; shards: string[] } {
  const journal = path.join(dir, '_turn_journal');
  fs.mkdirSync(journal, { recursive: true });
  const shards = ['bench~1.jsonl', 'bench~2.jsonl'];
  const out: string[][] = [[], []];
  const messages: unknown[] = [];
  let n = 0;
  let turn = 0;
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const words = 'the quick brown fox jumps over a lazy dog while planning a trip to Lisbon and asking about trains hotels museums food weather'.split(' ');
  const text = (len: number): string => Array.from({ length: len }, () => words[Math.floor(rand() * words.length)]).join(' ');
  while (n < events) {
    const id = `20260101T000000Z-${turn.toString(16).padStart(12, '0')}`;
    const at = T0 + turn * 30;
    const shard = turn % 5 === 4 ? 1 : 0;
    const base = { version: 1, session_id: 'bench', turn_id: id, stream_id: `s-${turn}` };
    const userText = text(8 + Math.floor(rand() * 40));
    const replyText = text(20 + Math.floor(rand() * (turn % 13 === 0 ? 600 : 80)));
    messages.push({ role: 'user', content: userText, timestamp: Math.floor(at) });
    const replyIndex = messages.length;
    messages.push({ role: 'assistant', content: replyText, timestamp: Math.floor(at + 10) });
    const lines = [
      {
        ...base,
        event: 'submitted',
        created_at: at,
        role: 'user',
        content: userText,
        attachments: [],
        workspace: '/w',
        model: 'gpt-bench',
        model_provider: 'openai',
      },
      { ...base, event: 'worker_started', created_at: at + 0.2 },
      { ...base, event: 'assistant_started', created_at: at + 1.1, assistant_message_index: replyIndex },
      turn % 17 === 5
        ? { ...base, event: 'interrupted', created_at: at + 3, reason: 'rate_limit', terminal: true }
        : { ...base, event: 'completed', created_at: at + 14.3, assistant_message_index: replyIndex, terminal: true },
    ];
    for (const l of lines) out[shard].push(JSON.stringify(l));
    n += 4;
    if (turn % 97 === 3) {
      out[1 - shard].push(JSON.stringify({ ...base, event: 'interrupted', created_at: at + 20, reason: 'cancelled', terminal: true }));
      n++;
    }
    if (turn % 211 === 7) out[shard].push('{"event":"completed","turn_id":"' + id);
    turn++;
  }
  fs.writeFileSync(path.join(journal, shards[0]), out[0].join('\n') + '\n');
  fs.writeFileSync(path.join(journal, shards[1]), out[1].join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'bench.json'),
    JSON.stringify({ session_id: 'bench', title: `Benchmark session (${events} events)`, model: 'gpt-bench', messages }),
  );
  return { sessionsDir: dir, shards };
}

function html(): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>bench</title></head>
<body class="vscode-dark" style="--vscode-font-family: sans-serif; --vscode-font-size: 13px; --vscode-editor-background: #1e1e1e; --vscode-foreground: #ccc;">
<script>
  window.__fromWebview = [];
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__fromWebview.push(m),
    getState: () => undefined,
    setState: () => {},
  });
  window.__frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
</script>
<script src="http://bench.local/timeline.js"></script>
</body></html>`;
}

export async function benchTimeline(options: { sizes?: number[]; log?: (s: string) => void; bundle?: string } = {}): Promise<TimelineBenchRow[]> {
  const sizes = options.sizes ?? [1_000, 10_000, 100_000];
  const log = options.log ?? ((s: string) => console.log(s));
  const bundle = options.bundle ?? path.resolve('dist/webview/timeline.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} not found: run \`node esbuild.js\` first`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.BMA_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  const results: TimelineBenchRow[] = [];
  try {
    for (const events of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-timeline-'));
      try {
        const { sessionsDir, shards } = writeSyntheticSession(dir, events);
        let t = performance.now();
        const journal = new SessionJournal(sessionsDir, 'bench');
        journal.setShards(shardFilesFor(path.join(sessionsDir, '_turn_journal'), shards));
        await journal.refresh();
        const analysis = journal.analyze({ now: T0 + 86400, staleAfterSeconds: 3600 });
        const analyzeMs = performance.now() - t;
        t = performance.now();
        const model = buildTimelineModel(analysis, { now: T0 + 86400, openedShard: shards[0] });
        const modelMs = performance.now() - t;
        t = performance.now();
        const messages = new TimelineFeed().reset(model).map((m) => JSON.stringify(m));
        const serializeMs = performance.now() - t;

        const page = await browser.newPage();
        await page.route('http://bench.local/**', async (route) => {
          const url = new URL(route.request().url());
          if (url.pathname === '/') return route.fulfill({ contentType: 'text/html', body: html() });
          if (url.pathname === '/timeline.js') return route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(bundle) });
          const m = /^\/msg\/(\d+)$/.exec(url.pathname);
          if (m) return route.fulfill({ contentType: 'application/json', body: messages[Number(m[1])] });
          return route.fulfill({ status: 404, body: '' });
        });
        await page.goto('http://bench.local/');
        await page.waitForFunction(() => (window as unknown as { __fromWebview: { type: string }[] }).__fromWebview.some((m) => m.type === 'ready'));
        const timing = await page.evaluate(async (count: number) => {
          const w = window as unknown as { __frame: () => Promise<void> };
          const texts: string[] = [];
          for (let i = 0; i < count; i++) texts.push(await (await fetch(`http://bench.local/msg/${i}`)).text());
          const t0 = performance.now();
          window.dispatchEvent(new MessageEvent('message', { data: JSON.parse(texts[0]) }));
          await w.__frame();
          const first = performance.now() - t0;
          const domTop = document.getElementsByTagName('*').length;
          for (let i = 1; i < count; i++) window.dispatchEvent(new MessageEvent('message', { data: JSON.parse(texts[i]) }));
          await w.__frame();
          const all = performance.now() - t0;
          const scroller = document.getElementById('scroller')!;
          scroller.scrollTop = scroller.scrollHeight / 2;
          await w.__frame();
          await w.__frame();
          const domMiddle = document.getElementsByTagName('*').length;
          scroller.scrollTop = scroller.scrollHeight;
          await w.__frame();
          await w.__frame();
          const domEnd = document.getElementsByTagName('*').length;
          const cards = document.querySelectorAll('article.card').length;
          return { first, all, domTop, domMiddle, domEnd, cards };
        }, messages.length);
        if (process.env.BMA_BENCH_SCREENSHOT && events === sizes[0]) {
          await page.evaluate(() => (document.getElementById('scroller')!.scrollTop = 0));
          await page.waitForTimeout(100);
          await page.screenshot({ path: process.env.BMA_BENCH_SCREENSHOT });
        }
        await page.close();
        const row: TimelineBenchRow = {
          events: analysis.counts.events,
          rows: model.rows.length,
          hostMs: { analyze: analyzeMs, model: modelMs, serialize: serializeMs },
          firstRenderMs: timing.first,
          allRowsMs: timing.all,
          dom: { top: timing.domTop, middle: timing.domMiddle, end: timing.domEnd },
          renderedCards: timing.cards,
        };
        results.push(row);
        log(
          `timeline ${String(row.events).padStart(7)} events ${String(row.rows).padStart(6)} rows | host analyse ${row.hostMs.analyze.toFixed(0)} ms, model ${row.hostMs.model.toFixed(0)} ms, serialise ${row.hostMs.serialize.toFixed(0)} ms | first render ${row.firstRenderMs.toFixed(1)} ms, all rows ${row.allRowsMs.toFixed(0)} ms | DOM elements top ${row.dom.top}, middle ${row.dom.middle}, end ${row.dom.end} (${row.renderedCards} cards)`,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  const base = results[0];
  if (base) {
    for (const r of results.slice(1)) {
      log(
        `timeline ratio ${r.events}/${base.events} events (×${(r.events / base.events).toFixed(0)}): first render ×${(r.firstRenderMs / base.firstRenderMs).toFixed(2)}, all rows ×${(r.allRowsMs / base.allRowsMs).toFixed(1)}, host total ×${((r.hostMs.analyze + r.hostMs.model + r.hostMs.serialize) / (base.hostMs.analyze + base.hostMs.model + base.hostMs.serialize)).toFixed(1)}, max DOM ×${(Math.max(r.dom.top, r.dom.middle, r.dom.end) / Math.max(base.dom.top, base.dom.middle, base.dom.end)).toFixed(2)}`,
      );
    }
    const maxDom = Math.max(...results.map((r) => Math.max(r.dom.top, r.dom.middle, r.dom.end)));
    log(`timeline DOM bound: max ${maxDom} elements (limit 3000) ${maxDom <= 3000 ? 'OK' : 'EXCEEDED'}`);
  }
  return results;
}

/** For bench/index.ts: `npm run bench -- --only timeline` (quick: 1k and 10k events). */
export const timelineBench: Bench = {
  name: 'timeline',
  run: async (ctx) => {
    await benchTimeline({ sizes: ctx.quick ? [1_000, 10_000] : undefined, log: ctx.log });
  },
};
