/** `bot-memory-audit export <sessionsDir> --format sft|kto|dpo --out FILE [--since] [--until] [--model] [--tag]…` */

import { atomicReplace } from '../core/durable';
import { describeSummary, EXPORT_FORMATS, exportTrainingData, type ExportFormat } from '../core/feedback/export';
import { UsageError, err, out, parse, safeText } from './io';

export async function runExport(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      format: { type: 'string' },
      out: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      model: { type: 'string' },
      tag: { type: 'string', multiple: true },
      session: { type: 'string', multiple: true },
      'include-interrupted': { type: 'boolean', default: false },
      'include-collisions': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const format = values.format as ExportFormat | undefined;
  if (!format || !EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be ${EXPORT_FORMATS.join(', ')}${format ? `, got "${format}"` : ''}`);
  if (!values.out) throw new UsageError('missing --out FILE (use - for standard output)');
  const since = timeOption(values.since, 'since');
  const until = timeOption(values.until, 'until');
  if (since !== undefined && until !== undefined && since > until) throw new UsageError('--since is after --until');

  const { lines, summary } = await exportTrainingData(positionals[0], {
    format,
    since,
    until,
    model: values.model,
    tags: values.tag,
    sessionIds: values.session,
    includeInterrupted: values['include-interrupted'],
    includeCollisions: values['include-collisions'],
  });
  const text = lines.join('');
  if (values.out === '-') out(text);
  else atomicReplace(values.out, text, { mode: 0o600, forceMode: true });
  // The summary goes to stderr when the data goes to stdout.
  const say = values.out === '-' ? err : out;
  if (values.json) say(JSON.stringify({ out: values.out, ...summary }) + '\n');
  else {
    say(describeSummary(summary).join('\n') + '\n');
    for (const p of summary.problems.slice(0, 20)) say(`problem: ${safeText(p, 300)}\n`);
    if (summary.problems.length > 20) say(`… and ${summary.problems.length - 20} more problems\n`);
    if (values.out !== '-') say(`wrote ${values.out}\n`);
  }
  return 0;
}

/** ISO-8601 (a date alone is midnight UTC) or epoch seconds. */
export function timeOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} must be an ISO-8601 date/time or epoch seconds, got "${v}"`);
  return ms / 1000;
}
