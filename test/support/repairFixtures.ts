/**
 * A sessions folder for repair tests: every kind of thing `repair` acts on or must leave
 * alone, written by the deterministic fixture writer (fixtures.ts), "now" = FIXED_NOW.
 */
import { runUpstreamReader as runUpstream, type UpstreamSession } from './upstreamReader';
import * as fs from 'fs';
import * as path from 'path';
import { FIXED_NOW, writeSessionsFolder, type FixtureManifest, type SessionSpec } from './fixtures';

const DAY = 86400;

export const REPAIR_SPECS: SessionSpec[] = [
  {
    id: 'dangling1',
    title: 'Two dangling turns',
    pids: [4100, 4200],
    startAt: FIXED_NOW - 3 * DAY,
    turns: [
      { user: 'First question' },
      { user: 'Ünïcödé question — never answered ✓', fate: { kind: 'dangling', after: 'worker_started' }, attachments: ['notes.txt'] },
      { user: 'Third question' },
      { user: 'Fourth: stopped while answering', fate: { kind: 'dangling', after: 'assistant_started' } },
    ],
  },
  {
    id: 'glued2',
    title: 'Glued and torn lines',
    pids: [5100, 5200],
    startAt: FIXED_NOW - 2 * DAY,
    turns: [
      { user: 'a question' },
      { user: 'this one gets glued', quirks: ['glued'] },
      { user: 'this one is torn', quirks: ['torn_tail'] },
      { user: 'fine again' },
    ],
  },
  {
    id: 'collide3',
    title: 'Collision and garbage',
    pids: [6100, 6200],
    startAt: FIXED_NOW - 4 * DAY,
    turns: [{ user: 'hello' }, { user: 'double ending', fate: { kind: 'collision' } }, { user: 'bye' }],
    quirks: { garbage: ['not_json', 'json_array'] },
  },
  {
    id: 'live4',
    title: 'A live turn',
    pids: [7100],
    startAt: FIXED_NOW - DAY,
    turns: [
      { user: 'old and dangling', fate: { kind: 'dangling' } },
      { user: 'running now', fate: { kind: 'live' } },
    ],
  },
  {
    id: 'stale5',
    title: 'Stale pending',
    pids: [8100],
    startAt: FIXED_NOW - DAY,
    turns: [{ user: 'ok' }, { user: 'server died', fate: { kind: 'dangling', stalePending: true } }],
  },
  {
    id: 'healthy6',
    title: 'Healthy',
    pids: [9100, 9200],
    startAt: FIXED_NOW - 5 * DAY,
    turns: [{ user: 'q1' }, { user: 'q2' }, { user: 'q3' }],
  },
];

export function writeRepairFixture(dir: string, seed = 7): FixtureManifest {
  return writeSessionsFolder(dir, REPAIR_SPECS, { seed, now: FIXED_NOW });
}

export { UPSTREAM_READER, HAS_PYTHON, type UpstreamSession } from './upstreamReader';

/** What hermes-webui's reader reports for the folder, per session. */
export function runUpstreamReader(dir: string): Record<string, UpstreamSession> {
  return runUpstream(dir).sessions;
}

/** Every file under dir (relative path → bytes). */
export function snapshotFiles(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) for (const [k, v] of snapshotFiles(dir, r)) out.set(k, v);
    else if (e.isFile()) out.set(r, fs.readFileSync(path.join(dir, r)));
  }
  return out;
}
