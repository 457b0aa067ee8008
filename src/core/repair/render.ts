/**
 * Markdown renderings of a repair plan and of an audit with its repairs, for the editor's
 * read-only preview documents. Transcript text, titles and ids are untrusted: every piece
 * is escaped so it shows as text and can never become a link, HTML or a heading.
 */

import type { SessionAnalysis } from '../analyze';
import type { RepairPlan, SessionPlan } from './plan';
import { hasWork } from './plan';
import { escapeMarkdownInline, stripControls } from '../untrustedText';

/** Escapes Markdown and HTML syntax (core/untrustedText.ts: every ASCII punctuation, bidi/controls); line breaks become a visible ⏎. */
export function md(s: string, max = 200): string {
  return escapeMarkdownInline(s, max);
}

/** An inline code span: its content is literal (no escapes needed), fenced past any backtick run inside. */
export function mdCode(s: string, max = 200): string {
  let t = stripControls(s).replace(/[\n\r\t\u0085\u2028\u2029]/g, ' ');
  if (t.length > max) t = t.slice(0, max - 1) + '…';
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function sessionPlanMarkdown(p: SessionPlan): string[] {
  const out: string[] = [];
  if (p.dropOwnTail)
    out.push(
      `- **Own shard:** drop the incomplete last line of ${mdCode(p.ownShard)} (from byte ${p.dropOwnTail.offset}; a killed earlier repair), then redo it.`,
    );
  if (p.messages.length) {
    out.push(`- **Sidecar** ${mdCode(`${p.sessionId}.json`)} — append ${plural(p.messages.length, 'message')} at the end of \`messages\` (a backup is kept):`);
    for (const m of p.messages) {
      const content = typeof m.message.content === 'string' ? m.message.content : '';
      out.push(
        m.kind === 'recovered_user_message'
          ? `  - recovered user message of turn ${mdCode(m.turnId)}: “${md(content, 160)}”`
          : `  - interruption marker for turn ${mdCode(m.turnId)}: “${md(content, 160)}”`,
      );
      for (const e of m.evidence ?? []) out.push(`    - evidence: ${md(e, 300)}`);
    }
  }
  if (p.appends.length) {
    out.push(`- **Journal** — append ${plural(p.appends.length, 'event')} to our own shard ${mdCode(p.ownShard)}:`);
    for (const a of p.appends) {
      out.push(
        a.kind === 'recovered_event'
          ? `  - recovered ${mdCode(a.event)} of turn ${mdCode(a.turnId)} (found glued in ${md(a.from!.shard)}:${a.from!.line})`
          : a.kind === 'completed_event'
            ? `  - \`completed\` closing turn ${mdCode(a.turnId)}: it WAS answered, so no interruption marker`
            : `  - \`interrupted\` (reason \`audit_repair\`) closing turn ${mdCode(a.turnId)}`,
      );
      for (const e of a.evidence ?? []) out.push(`    - evidence: ${md(e, 300)}`);
    }
  }
  if (p.reviews.length) {
    out.push(`- **Recorded as reviewed** (never edited):`);
    for (const r of p.reviews) out.push(`  - ${r.kind.replace('_', ' ')} ${md(r.shard)}:${r.line} — ${md(r.note, 240)}`);
  }
  if (p.skipped.length) {
    out.push(`- **Skipped:**`);
    for (const s of p.skipped) out.push(`  - ${md(s.what, 240)}: ${md(s.reason, 300)}${s.retry ? ' _(a later run may do it)_' : ' _(needs a human)_'}`);
  }
  if (p.human.length) {
    out.push(`- **For a human** (terminal collisions are never fixed automatically):`);
    for (const h of p.human) {
      const rev = h.reviewed ? ` — reviewed${h.reviewed.reviewer ? ` by ${md(h.reviewed.reviewer)}` : ''}: “${md(h.reviewed.note)}”` : '';
      out.push(`  - turn ${mdCode(h.turnId)}: ${h.events.map((e) => md(e)).join(' and ')}${rev}`);
    }
  }
  if (out.length === 0) out.push('- nothing to do');
  return out;
}

export function planMarkdown(plan: RepairPlan, title = 'Repair plan'): string {
  const work = plan.sessions.filter(hasWork);
  const lines: string[] = [`# ${md(title)}`, ''];
  lines.push(`Sessions folder: ${mdCode(plan.sessionsDir, 400)}  `);
  lines.push(`Planned at ${new Date(plan.now * 1000).toISOString()} · a turn counts as dangling after ${plan.staleAfterMinutes} min`);
  lines.push('');
  lines.push(
    work.length === 0
      ? '**Nothing to repair.**'
      : `**${plural(work.length, 'session')} will change.** Nothing is written until you confirm. Other processes' shards are never written; sidecars are backed up first; *Undo Last Repair* reverts it.`,
  );
  for (const p of plan.sessions) {
    lines.push('', `## ${md(p.sessionId)}${p.title ? ` — ${md(p.title, 80)}` : ''}`, '');
    lines.push(...sessionPlanMarkdown(p));
  }
  return lines.join('\n') + '\n';
}

/** The "Audit Sessions" report: per session, per finding, and what repair would do. */
export function auditMarkdown(sessionsDir: string, entries: { analysis: SessionAnalysis; plan: SessionPlan | null }[]): string {
  const lines: string[] = ['# Bot Memory audit', '', `Sessions folder: ${mdCode(sessionsDir, 400)}  `, `Generated ${new Date().toISOString()}`, ''];
  const withFindings = entries.filter((e) => e.analysis.findings.length > 0);
  const counts = { error: 0, warning: 0, info: 0 };
  for (const e of entries) for (const f of e.analysis.findings) counts[f.severity]++;
  lines.push(
    `${plural(entries.length, 'session')}, ${plural(withFindings.length, 'session')} with findings: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info.`,
  );
  const repairable = entries.filter((e) => e.plan && hasWork(e.plan)).length;
  lines.push(repairable ? `${plural(repairable, 'session')} can be repaired (*Bot Memory: Repair All Sessions…*).` : 'Nothing to repair.');
  for (const { analysis: a, plan } of entries) {
    if (a.findings.length === 0 && !(plan && hasWork(plan))) continue;
    lines.push('', `## ${md(a.sessionId)}${a.title ? ` — ${md(a.title, 80)}` : ''}`, '');
    lines.push(`${plural(a.counts.turns, 'turn')}, ${a.counts.open} open, ${plural(a.shards.length, 'shard')}`, '');
    lines.push('### Findings', '');
    for (const f of a.findings) {
      const where = f.shard ? ` (${md(f.shard)}${f.line ? `:${f.line}` : ''})` : '';
      const rev = f.reviewed ? ` — _known: ${md(f.reviewed.note, 200)}${f.reviewed.by ? ` (${md(f.reviewed.by)})` : ''}_` : '';
      lines.push(`- **${f.severity}** ${mdCode(f.kind)}${where}: ${md(f.message, 300)}${rev}`);
    }
    lines.push('', '### What repair would do', '');
    lines.push(...(plan ? sessionPlanMarkdown(plan) : ['- nothing to do']));
  }
  return lines.join('\n') + '\n';
}
