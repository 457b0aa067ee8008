/**
 * `bot-memory-audit repair <sessionsDir> [--session ID] [--apply]`, `undo <sessionsDir>` and
 * `review <sessionsDir> --session ID --turn ID --note TEXT`.
 * Exit codes: 0 nothing left to do; 1 work left undone (a plan printed without --apply, a
 * skipped repair, a refused undo); 2 usage error or unreadable folder.
 */

import { DiscoveryError } from '../core/discovery';
import { isValidSessionId } from '../core/sessionId';
import {
  RepairBusyError,
  RepairInputError,
  applyRepair,
  hasWork,
  markCollisionReviewed,
  planRepair,
  undoLastRepairLocked,
  type RepairPlan,
  type SessionPlan,
} from '../core/repair';
import { applySanitize, planSanitize } from '../core/repair/sanitize';
import { UsageError, bold, dim, green, numberOption, out, parse, red, safeText, yellow } from './io';
import { VERSION } from '../core/version';

const TOOL = `bot-memory-audit ${VERSION}`;

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Called after every durable write of `repair --apply` and `undo` (a step name). Nothing in the
 * shipped CLI sets it; the crash tests inject one (test/support/crashingCli.ts) to SIGKILL the
 * process at each step.
 */
export const repairHooks: { onStep?: (step: string) => void } = {};

async function wrap<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof DiscoveryError || e instanceof RepairBusyError) throw new Error(e.message, { cause: e });
    if (e instanceof RepairInputError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

export function planText(plan: RepairPlan): string {
  let s = '';
  for (const p of plan.sessions) s += sessionText(p);
  const work = plan.sessions.filter(hasWork);
  const skipped = plan.sessions.reduce((n, p) => n + p.skipped.length, 0);
  const human = plan.sessions.reduce((n, p) => n + p.human.filter((h) => !h.reviewed).length, 0);
  s += `\n${work.length ? `${plural(work.length, 'session')} to repair` : 'nothing to repair'}`;
  if (skipped) s += `, ${plural(skipped, 'repair')} skipped`;
  if (human) s += `, ${plural(human, 'collision')} for a human`;
  s += ` in ${plan.sessionsDir}\n`;
  return s;
}

function sessionText(p: SessionPlan): string {
  let s = `\n${bold(p.sessionId)}${p.title ? ` ${dim(`"${safeText(p.title, 60)}"`)}` : ''}\n`;
  if (p.dropOwnTail) s += `  ${yellow('own shard')}  drop the incomplete last line of ${p.ownShard} (byte ${p.dropOwnTail.offset}) left by a killed repair\n`;
  for (const m of p.messages) {
    const c = typeof m.message.content === 'string' ? m.message.content : '';
    s += `  ${green('sidecar')}    + ${m.kind === 'recovered_user_message' ? 'recovered user message' : 'interruption marker'} for turn ${m.turnId}: "${safeText(c, 100)}"\n`;
  }
  for (const a of p.appends) {
    const what =
      a.kind === 'recovered_event'
        ? `recovered "${safeText(a.event, 40)}" of turn ${a.turnId} (glued in ${a.from!.shard}:${a.from!.line})`
        : a.kind === 'completed_event'
          ? `completed closing turn ${a.turnId}: it WAS answered, no interruption marker`
          : `interrupted (reason audit_repair) closing turn ${a.turnId}`;
    s += `  ${green('journal')}    + ${what} → ${p.ownShard}\n`;
    for (const e of a.evidence ?? []) s += `               ${dim('evidence:')} ${safeText(e, 300)}\n`;
  }
  for (const r of p.reviews) s += `  ${dim('reviewed')}   ${r.kind} ${safeText(r.shard, 80)}:${r.line}: ${safeText(r.note, 200)}\n`;
  for (const k of p.skipped) s += `  ${yellow('skipped')}    ${safeText(k.what, 200)}: ${safeText(k.reason, 300)}\n`;
  for (const h of p.human) {
    s += `  ${h.reviewed ? dim('reviewed') + '  ' : red('human') + '     '}  terminal collision in turn ${h.turnId}: ${h.events.map((e) => safeText(e, 80)).join(' and ')}${h.reviewed ? ` — "${safeText(h.reviewed.note, 120)}"` : ''}\n`;
  }
  return s;
}

export async function runRepair(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      session: { type: 'string' },
      apply: { type: 'boolean', default: false },
      sanitize: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      reviewer: { type: 'string' },
      'stale-after-minutes': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      'max-session-bytes': { type: 'string' },
      now: { type: 'string' },
    },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  if (values.session !== undefined && !isValidSessionId(values.session)) {
    throw new UsageError(`--session "${values.session}" is not a valid session id (^[A-Za-z0-9_.-]+$, not "." or "..")`);
  }
  if (values.sanitize) return runSanitize(positionals[0], values);
  const plan = await wrap(() =>
    planRepair(positionals[0], {
      sessionId: values.session,
      staleAfterMinutes: numberOption(values['stale-after-minutes'], 'stale-after-minutes', 0),
      maxLineBytes: numberOption(values['max-line-bytes'], 'max-line-bytes', 1),
      maxSessionBytes: numberOption(values['max-session-bytes'], 'max-session-bytes', 1),
      now: numberOption(values.now, 'now', 0),
    }),
  );
  const work = plan.sessions.filter(hasWork).length;
  const retryable = plan.sessions.some((p) => p.skipped.some((s) => s.retry));
  if (!values.apply) {
    out(values.json ? JSON.stringify({ plan }) + '\n' : planText(plan) + (work ? dim('run again with --apply to apply this plan\n') : ''));
    return work > 0 || retryable ? 1 : 0;
  }
  const result = await wrap(() => applyRepair(plan, { reviewer: values.reviewer, tool: TOOL, onStep: repairHooks.onStep }));
  const skipped = result.sessions.filter((s) => s.status === 'skipped');
  if (values.json) {
    out(JSON.stringify({ plan, result }) + '\n');
  } else {
    out(planText(plan));
    if (result.repairId) {
      out(
        `\n${green('applied')} repair ${result.repairId}: ${result.sessions.filter((s) => s.status === 'applied').length} of ${result.sessions.length} sessions\n`,
      );
      for (const s of skipped) out(`${yellow('skipped')} ${s.sessionId}: ${safeText(s.message ?? '', 300)}\n`);
      out(dim(`undo with: bot-memory-audit undo ${plan.sessionsDir}\n`));
    }
  }
  return skipped.length > 0 || retryable ? 1 : 0;
}

/**
 * `repair --sanitize`: "Make Readable for hermes-webui" (core/repair/sanitize.ts). Preview by
 * default; `--apply` moves the undecodable lines of idle shards to `_audit_quarantine/`.
 */
async function runSanitize(
  dir: string,
  values: { session?: string; apply?: boolean; json?: boolean; now?: string; 'stale-after-minutes'?: string },
): Promise<number> {
  const plan = await wrap(() =>
    planSanitize(dir, {
      sessionId: values.session,
      now: numberOption(values.now, 'now', 0),
      staleAfterMinutes: numberOption(values['stale-after-minutes'], 'stale-after-minutes', 0),
    }),
  );
  const work = plan.shards.filter((s) => s.skip === null);
  const lines = plan.shards.map(
    (s) =>
      `  ${s.skip ? yellow('skipped') : green('sanitize')}  ${safeText(s.shard, 120)}: ${s.lines.length} undecodable line(s) (${s.lines.map((l) => `line ${l.line} at byte ${l.offset}`).join(', ')})${s.skip ? ` — ${safeText(s.skip, 200)}` : ''}\n`,
  );
  if (!values.apply) {
    if (values.json) out(JSON.stringify({ sanitize: plan }) + '\n');
    else
      out(
        `Make Readable for hermes-webui — ${plan.shards.length ? '' : 'no shard holds invalid UTF-8'}\n${lines.join('')}${work.length ? dim('run again with --apply to move these lines to _audit_quarantine/ (a backup is kept; undo restores the bytes)\n') : ''}`,
      );
    return work.length > 0 ? 1 : 0;
  }
  const result = await wrap(() => applySanitize(plan, { onStep: repairHooks.onStep }));
  if (values.json) out(JSON.stringify({ sanitize: plan, result }) + '\n');
  else {
    out(lines.join(''));
    for (const r of result.shards)
      out(
        `${r.status === 'sanitized' ? green('sanitized') : yellow('skipped')} ${safeText(r.shard, 120)}: ${safeText(r.message, 300)}${r.carried ? ` (${r.carried} bytes appended meanwhile carried over)` : ''}\n`,
      );
    if (result.repairId) out(dim(`undo with: bot-memory-audit undo ${plan.sessionsDir}\n`));
  }
  return result.shards.some((r) => r.status === 'skipped') || plan.shards.some((s) => s.skip) ? 1 : 0;
}

export async function runUndo(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const { resolveSessionsDir } = await import('../core/discovery');
  const dir = resolveSessionsDir(positionals[0]).sessionsDir;
  const r = await wrap(() => undoLastRepairLocked(dir, { onStep: repairHooks.onStep, dryRun: values['dry-run'] }));
  if (values.json) out(JSON.stringify(r) + '\n');
  else {
    // 'nothing' has no status word: its message says it ("there is no repair to undo").
    out(
      r.status === 'nothing'
        ? `${dim(safeText(r.message, 2000))}\n`
        : `${r.status === 'refused' ? red('refused') : green('undone')} ${safeText(r.message, 2000)}\n`,
    );
    for (const s of r.steps) if (s.action !== 'nothing') out(`  ${s.action.replace('_', ' ')} ${s.file}: ${s.detail}\n`);
  }
  return r.status === 'refused' ? 1 : 0;
}

export async function runReview(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { session: { type: 'string' }, turn: { type: 'string' }, note: { type: 'string' }, reviewer: { type: 'string' } },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  if (!values.session || !values.turn || values.note === undefined) throw new UsageError('review needs --session ID --turn ID --note TEXT');
  const events = await wrap(() =>
    markCollisionReviewed(positionals[0], { sessionId: values.session!, turnId: values.turn!, note: values.note!, reviewer: values.reviewer }),
  );
  out(`${green('reviewed')} terminal collision of turn ${values.turn}: ${events.join(', ')}\n`);
  return 0;
}
