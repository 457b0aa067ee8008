/**
 * `bot-memory-audit export <sessionsDir> --format F --out FILE [--since] [--until] [--model] [--tag]… [--reviewer R]…
 *   [--resolve latest|majority|unanimous] [--hermes-feedback FILE|--no-hermes-feedback] [--no-redact] [--redact-preview]`
 */

import { writeExport } from '../core/feedback/card';
import { describeSummary, EXPORT_FORMATS, exportTrainingData, RESOLVE_MODES, type ExportFormat, type ResolveMode } from '../core/feedback/export';
import { findSensitive, previewFinding } from '../core/feedback/redact';
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
      reviewer: { type: 'string', multiple: true },
      resolve: { type: 'string' },
      'hermes-feedback': { type: 'string' },
      'no-hermes-feedback': { type: 'boolean', default: false },
      'no-redact': { type: 'boolean', default: false },
      'redact-preview': { type: 'boolean', default: false },
      'include-interrupted': { type: 'boolean', default: false },
      'include-collisions': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const format = values.format as ExportFormat | undefined;
  if (!format || !EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be ${EXPORT_FORMATS.join(', ')}${format ? `, got "${format}"` : ''}`);
  const resolve = (values.resolve ?? 'latest') as ResolveMode;
  if (!RESOLVE_MODES.includes(resolve)) throw new UsageError(`--resolve must be ${RESOLVE_MODES.join(', ')}, got "${values.resolve}"`);
  if (values['hermes-feedback'] !== undefined && values['no-hermes-feedback']) throw new UsageError('--hermes-feedback does not go with --no-hermes-feedback');
  if (!values.out && !values['redact-preview']) throw new UsageError('missing --out FILE (use - for standard output)');
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
    reviewers: values.reviewer,
    resolve,
    hermesFeedback: values['no-hermes-feedback'] ? null : values['hermes-feedback'],
    redact: !values['no-redact'] && !values['redact-preview'],
  });
  if (values['redact-preview']) {
    // What redaction would mask: kind and a few characters, never the whole value.
    let n = 0;
    for (const [i, l] of lines.entries())
      for (const f of findSensitive(l)) {
        if (n++ < 200) out(`example ${i + 1}: ${safeText(previewFinding(l, f), 120)}\n`);
      }
    out(
      n === 0
        ? `nothing to mask in ${lines.length} examples\n`
        : `${n} value${n === 1 ? '' : 's'} would be masked in ${lines.length} examples${n > 200 ? ' (first 200 shown)' : ''}\n`,
    );
    return 0;
  }
  const outFile = values.out!;
  let written: { data: string; card: string } | null = null;
  if (outFile === '-') out(lines.join(''));
  else written = writeExport(outFile, lines, summary);
  // The summary goes to stderr when the data goes to stdout.
  const say = outFile === '-' ? err : out;
  if (values.json) say(JSON.stringify({ out: written ? outFile : null, card: written?.card ?? null, ...summary }) + '\n');
  else {
    say(describeSummary(summary).join('\n') + '\n');
    for (const p of summary.problems.slice(0, 20)) say(`problem: ${safeText(p, 300)}\n`);
    if (summary.problems.length > 20) say(`… and ${summary.problems.length - 20} more problems\n`);
    if (written) say(`wrote ${written.data} and its dataset card ${written.card}\n`);
    else if (outFile !== '-') say(`no examples: nothing written (${outFile} left as it was)\n`);
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
