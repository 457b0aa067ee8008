/**
 * The run behind a turn, on its card: the usage badge in the card's head and the expandable
 * run section (reasoning, streamed answer, interim messages, tool calls with arguments and
 * results, approvals, warnings, errors, the terminal outcome). Run text is untrusted: it is
 * inserted as text only (`h()` children), never parsed as HTML or Markdown.
 */

import { h } from './dom';
import { appendVisibleText } from './markdown';
import type { RunState } from './runState';
import { formatUsage, formatCost, type RunItem, type RunUsage } from '../../shared/runView';
import type { RunUsageTotal } from '../../shared/timelineProtocol';
import { formatBytes, formatDuration } from '../../shared/timelineFormat';
import type { TimelineTurnRow } from '../../shared/timelineModel';

function codicon(name: string, cls = ''): HTMLElement {
  return h('span', { class: `codicon codicon-${name}${cls ? ` ${cls}` : ''}`, 'aria-hidden': 'true' });
}

function usageTitle(u: RunUsage): string {
  return [
    `Input tokens ${u.inputTokens.toLocaleString('en-US')}`,
    `output tokens ${u.outputTokens.toLocaleString('en-US')}`,
    u.cacheReadTokens ? `cache read ${u.cacheReadTokens.toLocaleString('en-US')}` : '',
    u.cacheWriteTokens ? `cache write ${u.cacheWriteTokens.toLocaleString('en-US')}` : '',
    u.cost !== null ? `estimated cost ${formatCost(u.cost)}` : 'no cost reported',
    `from the run's last ${u.source} event${u.seq !== null ? ` (seq ${u.seq})` : ''}`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** Tokens and cost in the card's head; asks for them (`need`) when unknown or the run grew. */
export function runUsageBadge(row: TimelineTurnRow, runs: RunState, need: (turnId: string) => void): HTMLElement | null {
  if (!row.run) return null;
  if (runs.needsUsage(row.turnId, row.run.size)) need(row.turnId);
  const have = runs.usage.get(row.turnId);
  if (!have) return h('span', { class: 'run-usage muted', title: 'Reading the run’s usage…' }, codicon('loading', 'codicon-modifier-spin'));
  if (!have.usage) return h('span', { class: 'run-usage muted', title: have.error ?? 'The run journal has no metering event with usage' }, 'no usage');
  return h('span', { class: 'run-usage', title: usageTitle(have.usage) }, codicon('dashboard'), ' ', formatUsage(have.usage));
}

/** The session total for the header: the sum over every run read so far, and a button to count the rest. */
export function runTotalPart(total: RunUsageTotal | null): HTMLElement | null {
  if (!total || total.runs === 0) return null;
  const rest = total.runs - total.counted;
  const sum = total.usage ? formatUsage(total.usage) : 'no usage yet';
  return h(
    'span',
    { class: 'run-total', title: 'Sum of each run’s last metering usage (hermes run journal)' },
    h('span', { class: 'muted' }, 'Runs '),
    sum,
    rest > 0 ? h('span', { class: 'muted' }, ` (${total.counted} of ${total.runs} runs) `) : ` (${total.runs} run${total.runs === 1 ? '' : 's'})`,
    rest > 0 ? h('button', { type: 'button', class: 'link', 'data-action': 'run-count-all' }, `Count all ${total.runs}`) : null,
  );
}

const OUTCOME_GLYPH: Record<string, string> = {
  completed: 'pass',
  running: 'sync',
  unknown: 'circle-small',
  'interrupted-by-user': 'debug-stop',
  'interrupted-by-crash': 'error',
  errored: 'error',
  tool_limit_reached: 'warning',
};

/** The run section: a header that opens it, then (open) its items and "Load more". */
export function runSection(row: TimelineTurnRow, runs: RunState): HTMLElement | null {
  const ref = row.run;
  if (!ref) return null;
  const open = runs.open.get(row.turnId);
  const outcomeCls = ref.outcome.replace(/[^\w-]/g, '');
  const head = h(
    'div',
    { class: 'run-head' },
    h(
      'button',
      { type: 'button', class: 'link run-toggle', 'data-action': 'run-toggle', 'aria-expanded': open ? 'true' : 'false' },
      codicon(open ? 'chevron-down' : 'chevron-right'),
      ' Run',
    ),
    h('span', { class: `badge run-outcome outcome-${outcomeCls}` }, codicon(OUTCOME_GLYPH[ref.outcome] ?? 'circle-small'), ` ${ref.outcome}`),
    ref.upstreamOutcome !== null && ref.upstreamOutcome !== ref.outcome
      ? h('span', { class: 'warn', title: 'What hermes-webui’s own run summary reads' }, ` upstream reads “${ref.upstreamOutcome}”`)
      : null,
    h('span', { class: 'muted' }, ` ${formatBytes(ref.size)}${ref.lastSeq !== null ? ` · ${ref.lastSeq.toLocaleString('en-US')} events` : ''}`),
  );
  const section = h('section', { class: 'run', 'aria-label': 'The run behind this turn' }, head);
  if (!open) return section;
  const list = h('ol', { class: 'run-items', 'aria-label': 'Run events' }, ...open.items.map(runItem));
  if (!open.loading && open.items.length === 0 && !open.error) list.append(h('li', { class: 'muted' }, 'The run journal has no events.'));
  section.append(list);
  if (open.error) section.append(h('div', { class: 'err' }, `Could not read the run: ${open.error}`));
  if (open.loading) section.append(h('div', { class: 'muted' }, codicon('loading', 'codicon-modifier-spin'), ' Reading the run…'));
  else if (open.more)
    section.append(
      h(
        'button',
        { type: 'button', class: 'button run-more', 'data-action': 'run-more' },
        `Load more (${open.eventsRead.toLocaleString('en-US')} events of ${formatBytes(open.size)} read)`,
      ),
    );
  return section;
}

/** Run text as text; invisible separators (U+2028…) shown as markers, as in messages. */
function textBox(text: string, cls = ''): HTMLElement {
  const box = h('div', { class: `run-text${cls ? ` ${cls}` : ''}`, dir: 'auto' });
  appendVisibleText(box, text, '');
  return box;
}

function label(glyph: string, ...parts: (Node | string | null)[]): HTMLElement {
  return h('div', { class: 'run-label' }, codicon(glyph), ' ', ...parts);
}

/** One item, as text. */
export function runItem(it: RunItem): HTMLElement {
  const li = (kind: string, ...children: (Node | null)[]) => h('li', { class: `run-item run-${kind}`, 'data-kind': kind }, ...children);
  switch (it.kind) {
    case 'reasoning':
      return li('reasoning', label('lightbulb', 'Reasoning'), textBox(it.text));
    case 'answer':
      return li(
        'answer',
        label('comment', 'Streamed answer', h('span', { class: 'muted' }, ` · ${it.events.toLocaleString('en-US')} chunks`)),
        textBox(it.text),
      );
    case 'interim':
      return li('interim', label('comment-discussion', 'Interim message'), textBox(it.text));
    case 'tool':
      return li(
        'tool',
        label(
          'tools',
          'Tool ',
          h('code', null, it.name),
          it.duration !== null ? h('span', { class: 'muted' }, ` · ${formatDuration(it.duration)}`) : null,
          it.isError ? h('span', { class: 'err' }, ' · failed') : null,
          it.done ? null : h('span', { class: 'warn' }, ' · no result (never completed)'),
        ),
        it.args && it.args !== '{}' ? h('div', { class: 'run-sub' }, h('span', { class: 'muted' }, 'Arguments'), textBox(it.args, 'mono')) : null,
        it.preview ? h('div', { class: 'run-sub' }, h('span', { class: 'muted' }, 'Preview'), textBox(it.preview)) : null,
        it.result !== null ? h('div', { class: 'run-sub' }, h('span', { class: 'muted' }, 'Result'), textBox(it.result, 'mono')) : null,
      );
    case 'approval':
      return li('approval', label('shield', it.text));
    case 'warning':
      return li('warning', label('warning', 'Warning: ', it.text));
    case 'error':
      return li('error', label('error', `${it.event}: `, it.text));
    case 'terminal':
      return li(
        'terminal',
        label(OUTCOME_GLYPH[it.state] ?? 'circle-small', 'Ended with ', h('code', null, it.event), ` → ${it.state}`),
        it.text ? textBox(it.text) : null,
      );
    case 'other':
      return li('other', h('div', { class: 'run-label muted' }, codicon('circle-small'), ` ${it.event}${it.count > 1 ? ` ×${it.count}` : ''}`));
    case 'malformed':
      return li('malformed', label('error', `Line ${it.line}: `, it.detail));
  }
}
