import { candidatesFor, type AnswerSide, type Comparison } from '../compare/compareAnswers';
import { stringArg } from '../commandArgs';
import { notifyInfo, pickLabel, showPick } from '../untrustedText';
import { targetTurn, type CommandContext } from './context';

/**
 * "Compare Answers…" on a turn (tree node, timeline card, `{rootId, sessionId, turnId}`): its answer
 * beside its correction or another answer to the same question, in the diff editor. With more
 * than one candidate a quick pick asks; `{…, other: '<turnId>' | 'correction'}` chooses (tests, the timeline).
 */
export async function run(c: CommandContext, arg?: unknown): Promise<Comparison | undefined> {
  const ref = targetTurn(c, arg);
  if (!ref) return undefined;
  const a = await c.store.index.analyze(ref.rootId, ref.sessionId);
  await c.store.index.refreshFeedback(ref.rootId, ref.sessionId);
  const correction = c.store.index.feedbackFile(ref.rootId, ref.sessionId)?.latestCorrections().get(ref.turnId)?.text || undefined;
  const found = a ? candidatesFor(a, ref.rootId, ref.turnId, correction) : undefined;
  if (!found) {
    void notifyInfo(`Turn ${ref.turnId} has no saved answer to compare.`);
    return undefined;
  }
  if (found.others.length === 0) {
    void notifyInfo(`Nothing to compare turn ${ref.turnId} with: it has no correction, and no other completed turn of the session asked the same question.`);
    return undefined;
  }
  const other = stringArg(arg, 'other');
  let right: AnswerSide | undefined =
    other === 'correction'
      ? found.others.find((o) => o.kind === 'correction')
      : other
        ? found.others.find((o) => o.kind === 'answer' && o.ref.turnId === other)
        : undefined;
  if (other !== undefined && !right) {
    void notifyInfo(
      `${other === 'correction' ? 'There is no correction' : `Turn ${other} is not another answer to the same question`} for turn ${ref.turnId}.`,
    );
    return undefined;
  }
  if (!right && found.others.length === 1) right = found.others[0];
  if (!right) {
    const picked = await showPick(
      found.others.map((o) => ({ label: pickLabel(o.label, o.kind === 'correction' ? 'edit' : 'comment-discussion'), detail: o.text.slice(0, 200), side: o })),
      { title: `Compare the answer of ${found.self.label} with…` },
    );
    right = picked?.side;
  }
  if (!right) return undefined;
  return c.compare.show(found.self, right);
}
