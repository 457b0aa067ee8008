/** `bot-memory-audit agreement <sessionsDir> [--hermes-feedback FILE|--no-hermes-feedback] [--json]` */

import { agreementReport } from '../core/feedback/agreement';
import { UsageError, dim, out, parse, safeText } from './io';

export async function runAgreement(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      'hermes-feedback': { type: 'string' },
      'no-hermes-feedback': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  if (values['hermes-feedback'] !== undefined && values['no-hermes-feedback']) throw new UsageError('--hermes-feedback does not go with --no-hermes-feedback');
  const r = await agreementReport(positionals[0], values['no-hermes-feedback'] ? null : values['hermes-feedback']);
  if (values.json) {
    out(JSON.stringify(r) + '\n');
    return 0;
  }
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  out(
    `${r.ratedTurns} rated turn${r.ratedTurns === 1 ? '' : 's'}, ${r.sharedTurns} rated by two or more reviewers (${r.reviewers.length} reviewer${r.reviewers.length === 1 ? '' : 's'})\n`,
  );
  out(`Krippendorff's alpha (nominal): ${f(r.alpha.alpha)} over ${r.alpha.units} turn${r.alpha.units === 1 ? '' : 's'} (${r.alpha.values} ratings)\n`);
  if (r.kappa.length === 0) out(dim("no two reviewers rated the same turn: no Cohen's kappa\n"));
  for (const k of r.kappa)
    out(
      `Cohen's kappa ${safeText(k.a, 40)} × ${safeText(k.b, 40)}: ${f(k.kappa)} over ${k.n} turn${k.n === 1 ? '' : 's'} (observed ${f(k.observed)}, chance ${f(k.expected)})\n`,
    );
  for (const d of r.disagreements.slice(0, 50))
    out(
      `disagree: ${d.sessionId} ${safeText(d.turnId, 80)}  ${Object.entries(d.ratings)
        .map(([n, v]) => `${safeText(n, 40)} ${v === 'up' ? '👍' : '👎'}`)
        .join(', ')}\n`,
    );
  if (r.disagreements.length > 50) out(dim(`… and ${r.disagreements.length - 50} more disagreements\n`));
  for (const p of r.problems.slice(0, 20)) out(`problem: ${safeText(p, 300)}\n`);
  return 0;
}
