import * as vscode from 'vscode';
import type { FeedbackValue } from '../../core/feedback/record';
import { Commands } from '../commandIds';
import { firstLine } from '../tree/presentation';
import { fieldArg, stringArg, turnRefOf, type SessionRef, type TurnRef } from '../commandArgs';
import { pickSession } from '../sessionPicker';
import type { CommandContext } from './context';
import { pickReason } from '../feedback/reasons';
import { notifyInfo, showPick } from '../untrustedText';

type Verdict = FeedbackValue | 'note';

/**
 * "Give Feedback on Turn…": quick picks for the session, the turn and the verdict (👍, 👎,
 * clear, note), then for 👎 a reason (setting `botMemory.feedback.reasons`) and, for a rating,
 * tags (comma-separated, prefilled with the turn's). A turn argument skips the first two;
 * `{…ref, value, note?, reason?, tags?}` skips all (tests).
 */
export async function run(c: CommandContext, arg?: unknown) {
  if (!c.feedback.canWrite()) return undefined;
  let ref = turnRefOf(arg);
  if (!ref) {
    const session = await pickSession(c.store, {
      title: 'Give Feedback (1/3): session',
      placeHolder: 'Pick a session',
      empty: 'No sessions to give feedback on.',
      order: 'recent',
      detail: (sum) => (sum ? `${sum.reviewed} of ${sum.reviewable} completed turns reviewed · ${sum.thumbsUp} 👍 ${sum.thumbsDown} 👎` : undefined),
    });
    if (!session) return undefined;
    ref = await pickTurn(c, session);
    if (!ref) return undefined;
  }
  const given = fieldArg(arg, 'value');
  const verdict: Verdict | undefined = given === 1 || given === -1 || given === 0 ? given : await pickVerdict(c, ref);
  if (verdict === undefined) return undefined;
  if (verdict === 'note') return vscode.commands.executeCommand(Commands.addNote, ref);
  const note = stringArg(arg, 'note');
  const givenTags = fieldArg(arg, 'tags');
  let reason = stringArg(arg, 'reason');
  let tags = Array.isArray(givenTags) ? givenTags.filter((t): t is string => typeof t === 'string') : undefined;
  if (given === undefined && verdict !== 0) {
    if (verdict === -1) {
      const picked = await pickReason('Give Feedback: why 👎?');
      if (picked === undefined) return undefined;
      reason = picked ?? undefined;
    }
    const cur = c.feedback.current(ref);
    const t = await vscode.window.showInputBox({
      title: 'Give Feedback: tags (comma-separated, optional)',
      value: (cur?.tags ?? []).join(', '),
      ignoreFocusOut: true,
    });
    if (t === undefined) return undefined;
    tags = t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  return c.feedback.give(ref, verdict, { ...(note !== undefined ? { note } : {}), ...(tags ? { tags } : {}), ...(reason ? { reason } : {}) });
}

async function pickTurn(c: CommandContext, s: SessionRef): Promise<TurnRef | undefined> {
  const a = await c.store.index.analyze(s.rootId, s.sessionId);
  if (!a || a.turns.length === 0) {
    void notifyInfo(`Session ${s.sessionId} has no turns.`);
    return undefined;
  }
  const fb = c.store.index.feedback(s.rootId, s.sessionId);
  type Item = vscode.QuickPickItem & { turnId: string };
  const turns = [...a.turns].sort((x, y) => (y.startedAt ?? 0) - (x.startedAt ?? 0));
  const items: Item[] = turns.map((t) => {
    const f = fb.get(t.turnId);
    const mark = f?.value === 1 ? '$(thumbsup) ' : f?.value === -1 ? '$(thumbsdown) ' : '';
    return {
      label: `${mark}${firstLine(t.userMessage, 70)}`,
      description: `${t.state}${t.collision ? ' · collision' : ''} · ${t.turnId}`,
      detail: t.assistantReply ? firstLine(t.assistantReply, 110) : undefined,
      turnId: t.turnId,
    };
  });
  const picked = await showPick(items, {
    title: 'Give Feedback (2/3): turn',
    placeHolder: 'Pick a turn (newest first)',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked ? { ...s, turnId: picked.turnId } : undefined;
}

async function pickVerdict(c: CommandContext, ref: TurnRef): Promise<Verdict | undefined> {
  await c.store.index.refreshFeedback(ref.rootId, ref.sessionId);
  const cur = c.feedback.current(ref);
  const now = cur ? (cur.value === 1 ? 'now 👍' : cur.value === -1 ? 'now 👎' : 'now cleared') : 'not rated yet';
  const items: (vscode.QuickPickItem & { v: Verdict })[] = [
    { label: '$(thumbsup) Thumbs up', description: 'a good answer: train on it', v: 1 },
    { label: '$(thumbsdown) Thumbs down', description: 'a bad answer', v: -1 },
    { label: '$(close) Clear', description: 'remove the rating (history is kept)', v: 0 },
    { label: '$(note) Note…', description: cur?.note ? `edit: ${firstLine(cur.note, 60)}` : 'add a note to the rating', v: 'note' },
  ];
  const picked = await showPick(items, { title: `Give Feedback (3/3): turn ${ref.turnId} (${now})`, placeHolder: 'Your verdict' });
  return picked?.v;
}
