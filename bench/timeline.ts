/**
 * Timeline benchmark: time to first render and DOM size of the real timeline webview bundle
 * (dist/webview/timeline.js) for sessions of 1k, 10k and 100k events, in headless Debian
 * chromium (playwright-core) with a stub `acquireVsCodeApi`.
 *
 * Per size: the session is written to a temp folder, read and analysed through SessionIndex
 * (cold, then warm: the cached analysis the editor reuses), indexed (TimelineIndex) and cut into
 * protocol messages by the same TimelineFeed the editor uses (windowed above WINDOW_MIN_ROWS
 * rows: an outline plus the rows at both ends; the page's NeedRows/Search are answered by this
 * process). The page then receives the messages as the webview would
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
import { SessionIndex } from '../src/core/sessionIndex';
import { buildTimelineModel, TimelineIndex, WINDOW_MIN_ROWS } from '../src/core/timelineModel';
import type { FromWebview, ToWebview } from '../src/shared/timelineProtocol';
import type { BrowserContext } from 'playwright-core';
import { TimelineFeed } from '../src/extension/timeline/feed';
import type { Bench, BenchContext } from './harness';

export interface TimelineBenchRow {
  events: number;
  rows: number;
  windowed: boolean;
  /** What the editor does: SessionIndex.analyze (cold: read + analyse; warm: the cached analysis), the timeline index, the first message. */
  hostMs: { analyze: number; analyzeWarm: number; model: number; serialize: number };
  hostCpuMs: { cold: number; warm: number };
  /** Before windowing, for comparison: every row built and serialised. */
  allRowsHostMs: { model: number; serialize: number; bytes: number };
  /** The floor of a cold open: the session's shards and sidecar read, split and JSON.parse'd, nothing else (best of 3). */
  bare: { ms: number; bytes: number };
  /** Whether the second open reused the first one's analysis (false above the journal cache's bound: read again). */
  reused: boolean;
  firstMessageBytes: number;
  firstRenderMs: number;
  allRowsMs: number;
  dom: { top: number; middle: number; end: number };
  renderedCards: number;
}

/** Issue #18's target for the timeline host pipeline at 100k events (analyse + model + serialise). */
const HOST_TARGET_MS = 300;

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
    postMessage: (m) => {
      window.__fromWebview.push(m);
      // A windowed session asks the host for rows and searches: answered by the bench process.
      if (m.type === 'needRows' || m.type === 'search') window.__host(JSON.stringify(m)).then((t) => t && window.dispatchEvent(new MessageEvent('message', { data: JSON.parse(t) })));
    },
    getState: () => undefined,
    setState: () => {},
  });
  window.__frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
</script>
<script src="http://bench.local/timeline.js"></script>
</body></html>`;
}

/** A session the timeline opens: its folder, the shard the editor was opened on, its id. */
export interface TimelineSession {
  sessionsDir: string;
  openedShard: string;
  sessionId: string;
}

/** Chromium as the bench drives it (headless, a throwaway profile); `close` removes the profile. */
export async function launchBenchBrowser(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.BMA_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The editor's host pipeline on `session`, then its first render and every row in the real webview bundle. */
export async function measureTimeline(
  browser: BrowserContext,
  bundle: string,
  session: TimelineSession,
  opts: { screenshot?: string; allRows?: boolean } = {},
): Promise<TimelineBenchRow> {
  const host = await hostPipeline(session.sessionsDir, session.openedShard, session.sessionId, opts.allRows ?? true);
  const { index, feed, messages } = host;

  const page = await browser.newPage();
  await page.exposeFunction('__host', (text: string): string => {
    const m = JSON.parse(text) as FromWebview;
    let reply: ToWebview | null = null;
    if (m.type === 'needRows' && m.generation === feed.currentGeneration) reply = feed.windowRows(index, m.keys);
    if (m.type === 'search' && m.generation === feed.currentGeneration) reply = feed.search(index, m.query);
    return reply ? JSON.stringify(reply) : '';
  });
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
    /** A windowed session's placeholders are replaced once the host's rows arrive. */
    const settled = async () => {
      for (let i = 0; i < 200 && document.querySelector('article.card.stub'); i++) await w.__frame();
      await w.__frame();
    };
    await settled();
    const domTop = document.getElementsByTagName('*').length;
    for (let i = 1; i < count; i++) window.dispatchEvent(new MessageEvent('message', { data: JSON.parse(texts[i]) }));
    await w.__frame();
    const all = performance.now() - t0;
    const scroller = document.getElementById('scroller')!;
    scroller.scrollTop = scroller.scrollHeight / 2;
    await w.__frame();
    await settled();
    const domMiddle = document.getElementsByTagName('*').length;
    scroller.scrollTop = scroller.scrollHeight;
    await w.__frame();
    await settled();
    const domEnd = document.getElementsByTagName('*').length;
    const cards = document.querySelectorAll('article.card').length;
    return { first, all, domTop, domMiddle, domEnd, cards };
  }, messages.length);
  if (opts.screenshot) {
    await page.evaluate(() => (document.getElementById('scroller')!.scrollTop = 0));
    await page.waitForTimeout(100);
    await page.screenshot({ path: opts.screenshot });
  }
  await page.close();
  return {
    events: host.events,
    rows: index.size,
    windowed: host.windowed,
    hostMs: host.ms,
    hostCpuMs: host.cpuMs,
    allRowsHostMs: host.allRows,
    bare: opts.allRows === false ? { ms: NaN, bytes: 0 } : bareReadParse(session.sessionsDir),
    reused: host.reused,
    firstMessageBytes: messages[0].length,
    firstRenderMs: timing.first,
    allRowsMs: timing.all,
    dom: { top: timing.domTop, middle: timing.domMiddle, end: timing.domEnd },
    renderedCards: timing.cards,
  };
}

export async function benchTimeline(
  options: { sizes?: number[]; log?: (s: string) => void; bundle?: string; target?: BenchContext['target'] } = {},
): Promise<TimelineBenchRow[]> {
  const sizes = options.sizes ?? [1_000, 10_000, 100_000];
  const log = options.log ?? ((s: string) => console.log(s));
  const bundle = options.bundle ?? path.resolve('dist/webview/timeline.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} not found: run \`node esbuild.js\` first`);
  const { browser, close } = await launchBenchBrowser();
  const results: TimelineBenchRow[] = [];
  try {
    for (const events of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-timeline-'));
      try {
        const { sessionsDir, shards } = writeSyntheticSession(dir, events);
        const row = await measureTimeline(
          browser,
          bundle,
          { sessionsDir, openedShard: shards[0], sessionId: 'bench' },
          {
            screenshot: events === sizes[0] ? process.env.BMA_BENCH_SCREENSHOT : undefined,
          },
        );
        results.push(row);
        log(
          `timeline ${String(row.events).padStart(7)} events ${String(row.rows).padStart(6)} rows${row.windowed ? ' (windowed)' : ''} | host analyse cold ${row.hostMs.analyze.toFixed(0)} ms, ` +
            `warm (cached) ${row.hostMs.analyzeWarm.toFixed(0)} ms, model ${row.hostMs.model.toFixed(0)} ms, serialise ${row.hostMs.serialize.toFixed(0)} ms ` +
            `(first message ${(row.firstMessageBytes / 1024).toFixed(0)} KB) | first render ${row.firstRenderMs.toFixed(1)} ms, all rows ${row.allRowsMs.toFixed(0)} ms | ` +
            `DOM elements top ${row.dom.top}, middle ${row.dom.middle}, end ${row.dom.end} (${row.renderedCards} cards)`,
        );
        log(
          `timeline ${String(row.events).padStart(7)} events: host total cold ${hostTotal(row, 'cold').toFixed(0)} ms (CPU ${row.hostCpuMs.cold.toFixed(0)} ms), ` +
            `warm ${hostTotal(row, 'warm').toFixed(0)} ms (CPU ${row.hostCpuMs.warm.toFixed(0)} ms) | before windowing, every row: model ${row.allRowsHostMs.model.toFixed(0)} ms, ` +
            `serialise ${row.allRowsHostMs.serialize.toFixed(0)} ms (${(row.allRowsHostMs.bytes / 1048576).toFixed(1)} MB) | peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await close();
  }
  for (const r of results.filter((x) => x.events >= 100_000)) {
    const warm = hostTotal(r, 'warm');
    const cold = hostTotal(r, 'cold');
    log(
      `timeline host pipeline, ${r.events} events: warm ${warm.toFixed(0)} ms = ${(warm / HOST_TARGET_MS).toFixed(2)}× the ${HOST_TARGET_MS} ms target ` +
        `(${warm <= HOST_TARGET_MS ? 'met' : 'missed'}); cold (analysis included) ${cold.toFixed(0)} ms = ${(cold / HOST_TARGET_MS).toFixed(2)}× (${cold <= HOST_TARGET_MS ? 'met' : 'missed'}); ` +
        `cold = ${(cold / r.bare.ms).toFixed(2)}× ${bareText(r)}`,
    );
    options.target?.({
      row: `timeline host pipeline, ${Math.round(r.events / 1000)}k events (analyse + model + serialise)`,
      measured: `warm ${warm.toFixed(0)} ms (CPU ${r.hostCpuMs.warm.toFixed(0)} ms); cold ${cold.toFixed(0)} ms (CPU ${r.hostCpuMs.cold.toFixed(0)} ms) = ${(cold / r.bare.ms).toFixed(2)}× ${bareText(r)}`,
      target: `≤ ${HOST_TARGET_MS} ms`,
      met: warm <= HOST_TARGET_MS && cold <= HOST_TARGET_MS,
    });
  }
  const base = results[0];
  if (base) {
    for (const r of results.slice(1)) {
      log(
        `timeline ratio ${r.events}/${base.events} events (×${(r.events / base.events).toFixed(0)}): first render ×${(r.firstRenderMs / base.firstRenderMs).toFixed(2)}, all rows ×${(r.allRowsMs / base.allRowsMs).toFixed(1)}, host total cold ×${(hostTotal(r, 'cold') / hostTotal(base, 'cold')).toFixed(1)}, warm ×${(hostTotal(r, 'warm') / hostTotal(base, 'warm')).toFixed(1)}, max DOM ×${(Math.max(r.dom.top, r.dom.middle, r.dom.end) / Math.max(base.dom.top, base.dom.middle, base.dom.end)).toFixed(2)}`,
      );
    }
    const maxDom = Math.max(...results.map((r) => Math.max(r.dom.top, r.dom.middle, r.dom.end)));
    log(`timeline DOM bound: max ${maxDom} elements (limit 3000) ${maxDom <= 3000 ? 'OK' : 'EXCEEDED'}`);
  }
  return results;
}

function bareText(r: TimelineBenchRow): string {
  return `the bare read+split+JSON.parse of its ${(r.bare.bytes / 1e6).toFixed(0)} MB (${r.bare.ms.toFixed(0)} ms)`;
}

function hostTotal(r: TimelineBenchRow, which: 'cold' | 'warm'): number {
  return (which === 'cold' ? r.hostMs.analyze : r.hostMs.analyzeWarm) + r.hostMs.model + r.hostMs.serialize;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** The session's files read whole, split into lines and each parsed (the sidecar in one piece): best of 3. */
function bareReadParse(sessionsDir: string): { ms: number; bytes: number } {
  const journal = path.join(sessionsDir, '_turn_journal');
  const files = [
    ...fs.readdirSync(journal).map((f) => path.join(journal, f)),
    ...fs
      .readdirSync(sessionsDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(sessionsDir, f)),
  ];
  let best = Infinity;
  let bytes = 0;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    bytes = 0;
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      bytes += Buffer.byteLength(text);
      for (const line of f.endsWith('.json') ? [text] : text.split('\n')) {
        if (!line) continue;
        try {
          JSON.parse(line);
        } catch {
          // a broken line is read as far as a parser goes
        }
      }
    }
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, bytes };
}

/**
 * The editor's host pipeline on one session: `SessionIndex.analyze` cold (read + analyse) and
 * warm (nothing changed: the cached analysis), the `TimelineIndex`, and the first messages as
 * the controller sends them (windowed above WINDOW_MIN_ROWS rows). Also every row built and
 * serialised, as before windowing, for comparison.
 */
async function hostPipeline(sessionsDir: string, openedShard: string, sessionId: string, allRows = true) {
  const sessions = new SessionIndex({ now: () => T0 + 86400, staleAfterMinutes: 60 });
  await sessions.setRoots([{ sessionsDir, source: 'other' }]);
  const rootId = sessions.roots()[0].id;
  let cpu = process.cpuUsage();
  let t = performance.now();
  const analysis = (await sessions.analyze(rootId, sessionId))!;
  const analyze = performance.now() - t;
  const coldAnalyzeCpu = cpuMs(cpu);
  // The editor reuses the analysis later (a reopened tab, a live refresh): the cold read's garbage is gone by then.
  (globalThis as { gc?: () => void }).gc?.();
  cpu = process.cpuUsage();
  t = performance.now();
  const cached = (await sessions.analyze(rootId, sessionId))!;
  const analyzeWarm = performance.now() - t;
  // Above the journal cache's bound (core/sessions/journalCache.ts) a session is read again: allowed only for the large sessions.
  if (cached !== analysis && allRows) throw new Error('the analysis was not reused');
  const warmAnalyzeCpu = cpuMs(cpu);
  cpu = process.cpuUsage();
  t = performance.now();
  const index = new TimelineIndex(analysis, { now: T0 + 86400, openedShard });
  const model = performance.now() - t;
  t = performance.now();
  const feed = new TimelineFeed();
  const windowed = index.size > WINDOW_MIN_ROWS;
  const first = windowed ? [feed.resetWindowed(index)] : feed.reset({ header: index.header, rows: index.allRows() });
  const messages = first.map((m) => JSON.stringify(m));
  const serialize = performance.now() - t;
  const pipelineCpu = cpuMs(cpu);
  // Before windowing: every row, every chunk (not for the large sessions: gigabytes of JSON).
  let [allModel, allSerialize, allBytes] = [0, 0, 0];
  if (allRows) {
    t = performance.now();
    const all = buildTimelineModel(analysis, { now: T0 + 86400, openedShard });
    allModel = performance.now() - t;
    t = performance.now();
    allBytes = new TimelineFeed().reset(all).reduce((n, m) => n + JSON.stringify(m).length, 0);
    allSerialize = performance.now() - t;
  }
  sessions.dispose();
  return {
    events: analysis.counts.events,
    index,
    feed,
    messages,
    windowed,
    reused: cached === analysis,
    ms: { analyze, analyzeWarm, model, serialize },
    cpuMs: { cold: coldAnalyzeCpu + pipelineCpu, warm: warmAnalyzeCpu + pipelineCpu },
    allRows: { model: allModel, serialize: allSerialize, bytes: allBytes },
  };
}

/** For bench/index.ts: `npm run bench -- --only timeline` (quick: 1k and 10k events). */
export const timelineBench: Bench = {
  name: 'timeline',
  run: async (ctx) => {
    await benchTimeline({ sizes: ctx.quick ? [1_000, 10_000] : undefined, log: ctx.log, target: ctx.target });
  },
};
