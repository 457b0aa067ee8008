/**
 * The dataset card written beside every export (`<out>.README.md`): Hugging Face YAML front
 * matter (license placeholder, language, task_categories, size_categories, configs) and what a
 * reader of the data needs to know — counts per label, exclusions by reason, reviewers, date
 * range, models, and what was redacted. Plus the export file writer (mode 0600: transcript text).
 */

import * as path from 'path';
import { atomicReplace } from '../fsSafe';
import { EXCLUDE_REASON_TEXT, type ExcludeReason, type ExportFormat, type ExportSummary } from './export';

const TASKS: Record<ExportFormat, string> = {
  sft: 'text-generation',
  'sft-messages': 'text-generation',
  kto: 'text-generation',
  dpo: 'text-generation',
  'openai-sft': 'text-generation',
  'openai-dpo': 'text-generation',
};

const TRAINER: Record<ExportFormat, string> = {
  sft: 'TRL `SFTTrainer` (conversational prompt-completion: the loss is on the completion only)',
  'sft-messages': 'TRL `SFTTrainer` (conversational `messages`; no 👎 answer appears in any example)',
  kto: 'TRL `KTOTrainer` (unpaired preference: prompt, completion, label)',
  dpo: 'TRL `DPOTrainer` (preference with an explicit prompt: prompt, chosen, rejected)',
  'openai-sft': 'OpenAI supervised fine-tuning (chat `messages`; assistant `weight` 0 on every answer but the target)',
  'openai-dpo': 'OpenAI preference fine-tuning (`input`, `preferred_output`, `non_preferred_output`)',
};

export function sizeCategory(n: number): string {
  if (n < 1000) return 'n<1K';
  if (n < 10_000) return '1K<n<10K';
  if (n < 100_000) return '10K<n<100K';
  if (n < 1_000_000) return '100K<n<1M';
  return '1M<n<10M';
}

/** YAML double-quoted scalar (JSON strings are valid YAML). */
function y(s: string): string {
  return JSON.stringify(s);
}

function iso(t: number | null): string {
  return t === null ? 'n/a' : new Date(t * 1000).toISOString();
}

/** Markdown-inert text for names that come from transcripts and feedback files. */
function md(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/([\\`*_{}[\]()#+!|<>~-])/g, '\\$1');
}

export function datasetCard(summary: ExportSummary, dataFile: string, generatedAt: Date = new Date(), language = 'en'): string {
  const s = summary;
  const lines: string[] = [];
  lines.push('---');
  lines.push('license: other # TODO: choose a license before publishing');
  lines.push(`language:\n  - ${language}`);
  lines.push(`task_categories:\n  - ${TASKS[s.format]}`);
  lines.push(`size_categories:\n  - ${sizeCategory(s.examples)}`);
  lines.push(`tags:\n  - trl\n  - ${s.format}\n  - human-feedback`);
  lines.push('configs:');
  lines.push('  - config_name: default');
  lines.push('    data_files:');
  lines.push('      - split: train');
  lines.push(`        path: ${y(path.basename(dataFile))}`);
  lines.push('---');
  lines.push('');
  lines.push(`# Training data: ${s.format}`);
  lines.push('');
  lines.push(`Exported by Bot Memory Auditor on ${generatedAt.toISOString()} from reviewed chatbot turns. Format: ${TRAINER[s.format]}.`);
  lines.push('');
  lines.push('## Counts');
  lines.push('');
  lines.push(`- examples: ${s.examples}`);
  for (const [k, n] of Object.entries(s.labels).sort()) lines.push(`- label \`${k}\`: ${n}`);
  lines.push(`- turns used: ${s.included.up} 👍, ${s.included.down} 👎, ${s.included.corrected} with a reviewer's correction`);
  lines.push(`- turns with feedback: ${s.ratedTurns} in ${s.sessionsWithFeedback} sessions; several reviewers resolved by \`${s.resolve}\``);
  lines.push('');
  lines.push('## Left out, by reason');
  lines.push('');
  const reasons = (Object.keys(s.excluded) as ExcludeReason[]).sort();
  if (reasons.length === 0) lines.push('- none');
  for (const r of reasons) lines.push(`- \`${r}\` (${s.excluded[r]}): ${EXCLUDE_REASON_TEXT[r]}`);
  lines.push('');
  lines.push('## Provenance');
  lines.push('');
  lines.push(`- reviewers: ${s.reviewers.length ? s.reviewers.map(md).join(', ') : 'none'}`);
  lines.push(`- turns from ${iso(s.firstTurnAt)} to ${iso(s.lastTurnAt)}`);
  lines.push(`- models: ${s.models.length ? s.models.map(md).join(', ') : 'unknown'}`);
  if (s.hermes) lines.push(`- hermes-webui's own thumbs: ${s.hermes.matched} of ${s.hermes.records} records matched a turn (reviewer \`hermes-webui\`)`);
  lines.push('');
  lines.push('## Redaction');
  lines.push('');
  if (!s.redacted) lines.push('**Not redacted** (`--no-redact`): the examples hold the transcripts as written, secrets and personal data included.');
  else {
    const found = Object.entries(s.redactions).sort();
    lines.push('Secrets and personal data were masked as `[REDACTED:<kind>]` in this file (the journals are unchanged):');
    lines.push('');
    if (found.length === 0) lines.push('- nothing found');
    for (const [k, n] of found) lines.push(`- \`${k}\`: ${n}`);
    lines.push('');
    lines.push(
      'Detection uses well-known patterns (provider token formats, private keys, JWTs, `password=` assignments, emails, phone numbers, IP addresses, Luhn-valid card numbers); secrets of an unknown shape and names or addresses in prose are not detected. Review before publishing.',
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes a file atomically with mode 0600 whatever an existing file's mode was (temp + fsync + rename). */
export function writePrivateFile(file: string, data: string): void {
  atomicReplace(file, data, { mode: 0o600, forceMode: true });
}

/** Writes the card, then the export; nothing when there are no examples (the caller says so). */
export function writeExport(out: string, lines: readonly string[], summary: ExportSummary, generatedAt?: Date): { data: string; card: string } | null {
  if (lines.length === 0) return null;
  // The card goes first: the data file appearing (atomically) is the sign the export is complete.
  const card = `${out}.README.md`;
  writePrivateFile(card, datasetCard(summary, out, generatedAt));
  writePrivateFile(out, lines.join(''));
  return { data: out, card };
}
