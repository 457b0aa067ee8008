/**
 * Agreement between reviewers on 👍/👎 (each reviewer's latest rating of a turn; cleared ratings
 * do not count): Cohen's kappa per pair of reviewers over the turns both rated, and
 * Krippendorff's alpha (nominal) over every turn rated by two or more. Pure math plus one
 * collector over a sessions folder (own feedback files and hermes-webui's thumbs).
 */

import { DEFAULT_STALE_AFTER_MINUTES } from '../analyze';
import { discoverSessions } from '../discovery';
import { SessionJournal } from '../session';
import { defaultHermesFeedbackPath, hermesBySession, matchHermesFeedback, readHermesFeedbackFile } from './hermes';
import { compareFeedback, latestPerReviewer, turnKey } from './latest';
import type { FeedbackRecord } from './record';
import { listFeedbackSessions, SessionFeedbackFile } from './store';

/** Per unit (turn): reviewer → label. */
export type Ratings = Map<string, Map<string, string>>;

export interface KappaResult {
  a: string;
  b: string;
  /** Turns both rated. */
  n: number;
  observed: number | null;
  expected: number | null;
  /** null when undefined (no shared turns, or chance agreement is 1). */
  kappa: number | null;
}

export function cohensKappa(ratings: Ratings, a: string, b: string): KappaResult {
  const pairs: [string, string][] = [];
  for (const u of ratings.values()) {
    const x = u.get(a);
    const y = u.get(b);
    if (x !== undefined && y !== undefined) pairs.push([x, y]);
  }
  const n = pairs.length;
  if (n === 0) return { a, b, n, observed: null, expected: null, kappa: null };
  const cats = new Set(pairs.flat());
  const po = pairs.filter(([x, y]) => x === y).length / n;
  let pe = 0;
  for (const c of cats) pe += (pairs.filter(([x]) => x === c).length / n) * (pairs.filter(([, y]) => y === c).length / n);
  return { a, b, n, observed: po, expected: pe, kappa: pe === 1 ? null : (po - pe) / (1 - pe) };
}

export interface AlphaResult {
  /** Units (turns) with two or more ratings. */
  units: number;
  /** Pairable values (ratings in those units). */
  values: number;
  alpha: number | null;
}

/** Krippendorff's alpha for nominal data, from the coincidence matrix. */
export function krippendorffAlphaNominal(ratings: Ratings): AlphaResult {
  const o = new Map<string, number>(); // "c\u0000k" -> coincidences
  const nc = new Map<string, number>();
  let units = 0;
  for (const u of ratings.values()) {
    const vals = [...u.values()];
    const m = vals.length;
    if (m < 2) continue;
    units++;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        if (i === j) continue;
        const k = `${vals[i]}\u0000${vals[j]}`;
        o.set(k, (o.get(k) ?? 0) + 1 / (m - 1));
      }
    for (const v of vals) nc.set(v, (nc.get(v) ?? 0) + 1);
  }
  const n = [...nc.values()].reduce((s, x) => s + x, 0);
  if (units === 0 || n < 2) return { units, values: n, alpha: null };
  let disagreeObserved = 0;
  for (const [k, v] of o) {
    const [c, d] = k.split('\u0000');
    if (c !== d) disagreeObserved += v;
  }
  let disagreeExpected = 0;
  for (const [c, x] of nc) for (const [d, y] of nc) if (c !== d) disagreeExpected += x * y;
  if (disagreeExpected === 0) return { units, values: n, alpha: null };
  return { units, values: n, alpha: 1 - ((n - 1) * disagreeObserved) / disagreeExpected };
}

export interface AgreementReport {
  reviewers: string[];
  /** Turns with a rating by at least one reviewer / by two or more. */
  ratedTurns: number;
  sharedTurns: number;
  /** Turns where reviewers' latest ratings differ. */
  disagreements: { sessionId: string; turnId: string; ratings: Record<string, 'up' | 'down'> }[];
  kappa: KappaResult[];
  alpha: AlphaResult;
  problems: string[];
}

/** Each reviewer's latest 👍/👎 per turn of a folder (own records and, unless null, hermes-webui's). */
export async function collectRatings(
  sessionsDir: string,
  hermesFeedback?: string | null,
): Promise<{ ratings: Ratings; units: Map<string, { sessionId: string; turnId: string }>; problems: string[] }> {
  const discovery = await discoverSessions(sessionsDir);
  const problems: string[] = [];
  const byTurn = new Map<string, FeedbackRecord[]>();
  const add = (r: FeedbackRecord) => {
    const k = turnKey(r.sessionId, r.turnId!);
    const g = byTurn.get(k);
    if (g) g.push(r);
    else byTurn.set(k, [r]);
  };
  for (const f of await listFeedbackSessions(discovery.sessionsDir)) {
    const file = SessionFeedbackFile.forSession(discovery.sessionsDir, f.sessionId);
    await file.refresh();
    for (const p of file.problems) problems.push(`${p.file}:${p.line}: ${p.detail}`);
    for (const r of file.records) if (r.turnId !== null) add(r);
  }
  if (hermesFeedback !== null) {
    const read = await readHermesFeedbackFile(hermesFeedback ?? defaultHermesFeedbackPath(discovery.sessionsDir));
    problems.push(...read.problems);
    const sessions = new Map(discovery.sessions.map((s) => [s.sessionId, s]));
    for (const [sid, recs] of hermesBySession(read.records)) {
      const found = sessions.get(sid);
      if (!found) continue;
      const journal = new SessionJournal(discovery.sessionsDir, sid);
      journal.setShards(found.shards);
      await journal.refresh();
      const m = matchHermesFeedback(recs, journal.analyze({ now: Date.now() / 1000, staleAfterSeconds: DEFAULT_STALE_AFTER_MINUTES * 60 }));
      m.records.forEach(add);
    }
  }
  const ratings: Ratings = new Map();
  const units = new Map<string, { sessionId: string; turnId: string }>();
  for (const [k, g] of byTurn) {
    g.sort(compareFeedback);
    const per = new Map<string, string>();
    for (const [name, r] of latestPerReviewer(g)) if (r.feedback !== 0) per.set(name, r.feedback === 1 ? 'up' : 'down');
    if (per.size === 0) continue;
    ratings.set(k, per);
    units.set(k, { sessionId: g[0].sessionId, turnId: g[0].turnId! });
  }
  return { ratings, units, problems };
}

export async function agreementReport(sessionsDir: string, hermesFeedback?: string | null): Promise<AgreementReport> {
  const { ratings, units, problems } = await collectRatings(sessionsDir, hermesFeedback);
  const reviewers = [...new Set([...ratings.values()].flatMap((u) => [...u.keys()]))].sort();
  const kappa: KappaResult[] = [];
  for (let i = 0; i < reviewers.length; i++) for (let j = i + 1; j < reviewers.length; j++) kappa.push(cohensKappa(ratings, reviewers[i], reviewers[j]));
  const disagreements: AgreementReport['disagreements'] = [];
  let shared = 0;
  for (const [k, u] of [...ratings.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (u.size >= 2) shared++;
    if (new Set(u.values()).size > 1)
      disagreements.push({ ...units.get(k)!, ratings: Object.fromEntries([...u.entries()].sort()) as Record<string, 'up' | 'down'> });
  }
  return {
    reviewers,
    ratedTurns: ratings.size,
    sharedTurns: shared,
    disagreements,
    kappa: kappa.filter((k) => k.n > 0),
    alpha: krippendorffAlphaNominal(ratings),
    problems,
  };
}
