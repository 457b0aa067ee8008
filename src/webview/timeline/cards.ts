/**
 * The timeline's cards: one per turn, one per broken line. Journal text is untrusted: it is
 * only ever inserted as text (`h()` children, `appendHighlighted`), never as HTML.
 */

import { appendHighlighted, h } from './dom';
import { correctionBlock, feedbackChips } from './feedbackView';
import { renderMarkdown } from './markdown';
import { runSection, runUsageBadge } from './runCards';
import { COLLAPSE_CHARS, COLLAPSE_LINES, type TimelineState } from './state';
import type { TimelineLineRow, TimelineRow, TimelineTurnRow, TurnStatus } from '../../shared/timelineModel';
import { formatBytes, formatClock, formatDuration, formatOffset, formatTimestamp } from '../../shared/timelineFormat';

/** The codicon of a turn's state. */
function statusGlyph(status: TurnStatus, collision: boolean): string {
  if (collision) return 'warning';
  switch (status) {
    case 'completed':
      return 'pass';
    case 'interrupted':
      return 'error';
    case 'dangling':
      return 'debug-pause';
    case 'live':
      return 'sync';
    case 'open':
      return 'circle-large-outline';
    case 'recovered':
      return 'history';
    default:
      return 'circle-small';
  }
}

function statusWords(row: TimelineTurnRow): string {
  switch (row.status) {
    case 'completed':
      return 'completed';
    case 'interrupted':
      return 'interrupted';
    case 'dangling':
      return 'dangling';
    case 'live':
      return 'in progress';
    case 'open':
      return `open (${row.state || 'no state'})`;
    case 'recovered':
      return 'recovered from glued lines';
    default:
      return row.state || 'unknown';
  }
}

/** A codicon (the VS Code icon font, shipped in dist/webview), hidden from screen readers. */
export function icon(name: string, cls = ''): HTMLElement {
  return h('span', { class: `codicon codicon-${name}${cls ? ` ${cls}` : ''}`, 'aria-hidden': 'true' });
}

const PROBLEM_WORDS: Record<TimelineLineRow['problem'], string> = {
  malformed: 'Malformed line',
  torn: 'Torn final line',
  glued: 'Glued line',
};

/** Builds the cards; reads (never changes) the state. */
export class Cards {
  constructor(
    private readonly state: TimelineState,
    /** Asks the host for the usage of a turn's run (the card is on screen). */
    private readonly needRunUsage: (turnId: string) => void = () => {},
  ) {}

  private get multi(): boolean {
    return this.state.multiShard();
  }

  private chipFor(shard: string, line: number, text: string, cls: string, title: string): HTMLButtonElement {
    return h('button', { type: 'button', class: `chip ${cls}`, 'data-action': 'open', 'data-shard': shard, 'data-line': line, title }, text);
  }

  private textBlock(who: string, text: string, key: string, cls: string, extra: (Node | string)[] = []): HTMLElement {
    const full = this.state.expanded.has(key);
    const lines = text.split('\n').length;
    const long = text.length > COLLAPSE_CHARS || lines > COLLAPSE_LINES;
    // dir="auto": Arabic or Hebrew text reads right-to-left.
    const body = h('div', { class: `text md${long && !full ? ' clamped' : ''}`, dir: 'auto' });
    let shownText = text;
    if (long && !full) {
      shownText = text.slice(0, COLLAPSE_CHARS).split('\n').slice(0, COLLAPSE_LINES).join('\n');
      if (shownText.length < text.length) shownText += '…';
    }
    renderMarkdown(body, shownText, this.state.query);
    const block = h('section', { class: `msg ${cls}`, 'aria-label': who }, h('div', { class: 'who' }, who, ...extra), body);
    if (long) {
      block.append(
        h(
          'button',
          { type: 'button', class: 'link more', 'data-action': 'expand', 'aria-expanded': full ? 'true' : 'false' },
          full ? 'Show less' : `Show all (${text.length.toLocaleString('en-US')} characters)`,
        ),
      );
    }
    return block;
  }

  /** A row of a windowed session the host has not sent yet: its place and height, "loading". */
  stubCard(row: TimelineRow): HTMLElement {
    const what = row.kind === 'turn' ? `Turn ${row.ordinal}` : 'Broken line';
    const card = h(
      'article',
      {
        class: 'card stub',
        'data-key': row.key,
        ...(row.kind === 'turn' ? { 'data-turn-id': row.turnId } : {}),
        'aria-label': `${what}, loading`,
        tabindex: -1,
      },
      h(
        'div',
        { class: 'card-head' },
        h('span', { class: 'ordinal' }, row.kind === 'turn' ? `#${row.ordinal}` : what),
        h('span', { class: 'loading-text' }, 'Loading…'),
      ),
    );
    card.style.height = `${this.state.estimateHeight(row)}px`;
    return card;
  }

  /** One turn: head, banners, the two messages, the lifecycle steps, meta, findings. */
  turnCard(row: TimelineTurnRow): HTMLElement {
    const collision = row.collision !== null;
    const classes = ['card', 'turn', `status-${row.status}`];
    if (collision) classes.push('collision');
    if (row.own && this.multi) classes.push('own');
    if (row.key === this.state.selectedKey) classes.push('selected');
    if (row.worst) classes.push(`worst-${row.worst}`);
    const label = `Turn ${row.ordinal}, ${collision ? 'terminal collision, ' : ''}${statusWords(row)}${row.startedAt !== null ? `, ${formatTimestamp(row.startedAt)}` : ''}`;
    const card = h('article', { class: classes.join(' '), 'data-key': row.key, 'data-turn-id': row.turnId, 'aria-label': label, tabindex: -1 });
    card.append(this.turnHead(row));
    if (row.collision) card.append(this.collisionBanner(row, row.collision));
    const open = this.openBanner(row);
    if (open) card.append(open);
    card.append(...this.messages(row), this.steps(row));
    const run = runSection(row, this.state.runs);
    if (run) card.append(run);
    const meta = this.meta(row);
    if (meta) card.append(meta);
    const correction = correctionBlock(row, this.state);
    if (correction) card.append(correction);
    if (this.state.feedbackEnabled) card.append(this.feedbackBar(row));
    const findings = this.findings(row);
    if (findings) card.append(findings);
    return card;
  }

  private turnHead(row: TimelineTurnRow): HTMLElement {
    const collision = row.collision !== null;
    return h(
      'div',
      { class: 'card-head' },
      icon(statusGlyph(row.status, collision), `glyph${row.status === 'live' ? ' codicon-modifier-spin' : ''}`),
      h('span', { class: 'ordinal' }, `#${row.ordinal}`),
      h('span', { class: `badge state state-${row.status}` }, statusWords(row)),
      collision ? h('span', { class: 'badge collision-badge' }, 'terminal collision') : null,
      h('time', { class: 'when', title: row.startedAt !== null ? formatTimestamp(row.startedAt, true) + ' UTC' : '' }, formatTimestamp(row.startedAt)),
      row.total !== null ? h('span', { class: 'total', title: 'From submitted to the terminal event' }, formatDuration(row.total)) : null,
      row.model ? h('span', { class: 'model', title: row.modelProvider ? `${row.modelProvider} / ${row.model}` : row.model }, row.model) : null,
      runUsageBadge(row, this.state.runs, this.needRunUsage),
      row.own && this.multi ? h('span', { class: 'own-tag', title: 'Has lines in the shard this editor was opened on' }, 'this shard') : null,
      h('span', { class: 'grow' }),
      h(
        'button',
        { type: 'button', class: 'turn-id', 'data-action': 'copy', title: 'Copy turn id', 'aria-label': `Copy turn id ${row.turnId}` },
        this.hl(row.turnId),
        h('span', { class: 'copy-hint', 'aria-hidden': 'true' }, ' copy'),
      ),
      // A split turn (upstream's writer gave its later events a fresh id): one card, both ids.
      ...(row.aliasTurnIds ?? []).map((id) =>
        h('span', { class: 'turn-id alias-id', title: "The same turn under a second id (split by upstream's writer)" }, '+ ', this.hl(id)),
      ),
    );
  }

  private collisionBanner(row: TimelineTurnRow, events: NonNullable<TimelineTurnRow['collision']>): HTMLElement {
    const list = h('ul', { class: 'collision-list' });
    for (const c of events) {
      list.append(
        h(
          'li',
          null,
          h('strong', null, c.name || '(no name)'),
          c.reason ? ` (${c.reason})` : '',
          ` at ${formatTimestamp(c.at)} · `,
          this.chipFor(c.shard, c.line, `${c.shard}:${c.line}`, `loc${c.own && this.multi ? ' own' : ''}`, `Open ${c.shard} at line ${c.line}`),
        ),
      );
    }
    return h(
      'div',
      { class: 'banner collision-banner', role: 'note' },
      h(
        'div',
        { class: 'banner-title' },
        icon('warning'),
        ' ',
        `Terminal collision: ${events.length} terminal events for one turn. Upstream keeps the latest (“${row.state}”).`,
      ),
      list,
    );
  }

  /**
   * Open and live turns are still running ("running for 17 s", counting up from their first
   * event); a dangling turn (quiet past the stale limit) says where it stopped and never finished.
   */
  private openBanner(row: TimelineTurnRow): HTMLElement | null {
    if (!(row.status === 'dangling' || row.status === 'open' || row.status === 'live') || row.lastAt === null) return null;
    if (row.status === 'dangling') {
      const age = h('span', { class: 'age', 'data-since': row.lastAt }, formatDuration(Date.now() / 1000 - row.lastAt));
      return h(
        'div',
        { class: 'banner dangling-banner' },
        icon('debug-pause'),
        ' Dangling: open for ',
        age,
        ` — stopped at “${row.state || 'no state'}”, never finished.`,
      );
    }
    const since = row.startedAt ?? row.lastAt;
    const age = h('span', { class: 'age', 'data-since': since }, formatDuration(Date.now() / 1000 - since));
    return h(
      'div',
      { class: 'banner open-banner' },
      icon(row.status === 'live' ? 'sync' : 'circle-large-outline', row.status === 'live' ? 'codicon-modifier-spin' : ''),
      ' Running for ',
      age,
      ` — latest step “${row.state || 'no state'}”${row.status === 'live' ? ' (the sidecar says its stream is live)' : ''}.`,
    );
  }

  private messages(row: TimelineTurnRow): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (row.userMessage !== null) {
      out.push(
        this.textBlock(
          'User',
          row.userMessage,
          row.key,
          'user',
          row.attachments ? [h('span', { class: 'muted' }, ` · ${row.attachments} attachment${row.attachments === 1 ? '' : 's'}`)] : [],
        ),
      );
    } else {
      out.push(h('div', { class: 'msg user missing muted' }, 'No “submitted” event: the user message is unknown.'));
    }
    if (row.reply !== null) {
      out.push(
        this.textBlock(
          'Assistant',
          row.reply,
          row.key,
          'assistant',
          row.replyIndex !== null ? [h('span', { class: 'muted' }, ` · sidecar message ${row.replyIndex}`)] : [],
        ),
      );
    } else if (row.replyIndex !== null && row.terminal) {
      out.push(h('div', { class: 'msg assistant missing muted' }, `The reply (sidecar message ${row.replyIndex}) is not in the sidecar.`));
    }
    return out;
  }

  /** The lifecycle events as chips that open the raw line. */
  private steps(row: TimelineTurnRow): HTMLElement {
    const steps = h('ol', { class: 'steps', 'aria-label': 'Lifecycle events (open the raw line)' });
    row.steps.forEach((s, i) => {
      if (i > 0) steps.append(h('li', { class: 'arrow', 'aria-hidden': 'true' }, '→'));
      const cls = ['step', s.terminal ? `terminal step-${s.name}` : '', s.recovered ? 'recovered' : '', s.own && this.multi ? 'own' : '']
        .filter(Boolean)
        .join(' ');
      const when = s.at !== null ? formatClock(s.at) : 'unknown time';
      const title = `${s.name || '(no event name)'} at ${when}${s.sincePrevious !== null && i > 0 ? ` (${formatOffset(s.sincePrevious)} after the previous step)` : ''}${s.recovered ? ' — recovered from a glued line' : ''}\nOpen ${s.shard} at line ${s.line}`;
      const chip = this.chipFor(s.shard, s.line, '', cls, title);
      chip.append(h('span', { class: 'step-name' }, s.label), ' ', h('span', { class: 'step-time' }, s.sinceStart !== null ? formatOffset(s.sinceStart) : '?'));
      chip.setAttribute(
        'aria-label',
        `${s.label} ${s.sinceStart !== null ? formatOffset(s.sinceStart) : 'unknown time'}, ${s.shard} line ${s.line}${s.recovered ? ', recovered' : ''}`,
      );
      steps.append(h('li', null, chip));
    });
    return steps;
  }

  /** The interruption reason and the feedback verdict, when there are any. */
  private meta(row: TimelineTurnRow): HTMLElement | null {
    const meta = h('div', { class: 'meta' });
    if (row.reason) meta.append(h('span', { class: 'reason' }, 'Reason: ', h('code', null, this.hl(row.reason))));
    if (row.feedback) {
      const f = row.feedback;
      const glyph = f.rating === 'up' ? 'thumbsup' : f.rating === 'down' ? 'thumbsdown' : 'circle-small';
      const words = f.rating === 'up' ? 'Helpful' : f.rating === 'down' ? 'Not helpful' : 'Not rated';
      const by = [
        f.reviewer ? `by ${f.reviewer}` : '',
        f.at ? `at ${formatTimestamp(f.at, true)} UTC` : '',
        f.revisions && f.revisions > 1 ? `${f.revisions} records (latest wins)` : '',
        f.source ? `in ${f.source}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      meta.append(
        h(
          'span',
          { class: `feedback feedback-${f.rating}`, title: `Feedback ${by}` },
          icon(glyph),
          ' ',
          `Feedback: ${words}`,
          f.reviewer ? h('span', { class: 'muted' }, ` · ${f.reviewer}`) : null,
          f.tags?.length ? h('span', { class: 'fb-tags' }, ...f.tags.map((t) => h('span', { class: 'fb-tag' }, t))) : null,
          f.comment ? h('span', { class: 'fb-comment' }, ' — ', this.hl(f.comment)) : null,
          ...feedbackChips(f),
        ),
      );
    }
    return meta.childNodes.length ? meta : null;
  }

  /** Findings the banners do not already say (at most six, then "+N more"). */
  private findings(row: TimelineTurnRow): HTMLElement | null {
    const findings = row.findings.filter((f) => f.kind !== 'terminal_collision' && f.kind !== 'dangling_turn' && f.kind !== 'interrupted_turn');
    if (!findings.length) return null;
    const ul = h('ul', { class: 'findings', 'aria-label': 'Findings' });
    for (const f of findings.slice(0, 6)) {
      ul.append(h('li', { class: `sev-${f.severity}` }, icon(f.severity, 'sev'), ' ', h('span', { class: 'visually-hidden' }, `${f.severity}: `), f.message));
    }
    if (findings.length > 6) ul.append(h('li', { class: 'muted' }, `+${findings.length - 6} more`));
    return ul;
  }

  /** Thumbs up / down / clear / note buttons (also keys + - 0 n on the focused card). */
  private feedbackBar(row: TimelineTurnRow): HTMLElement {
    const r = row.feedback?.rating;
    const btn = (action: string, text: string | (Node | string)[], label: string, pressed: boolean | null, key: string) =>
      h(
        'button',
        {
          type: 'button',
          class: `fb-btn fb-${action}${pressed ? ' on' : ''}`,
          'data-action': `fb-${action}`,
          'aria-pressed': pressed === null ? null : pressed ? 'true' : 'false',
          title: `${label} (${key})`,
          'aria-label': label,
          'aria-keyshortcuts': key,
        },
        ...(Array.isArray(text) ? text : [text]),
      );
    return h(
      'div',
      { class: 'fb-bar', role: 'group', 'aria-label': 'Feedback' },
      btn('up', [icon('thumbsup'), ' Good'], 'Thumbs up: a good answer', r === 'up', '+'),
      btn('down', [icon('thumbsdown'), ' Bad'], 'Thumbs down: a bad answer', r === 'down', '-'),
      row.feedback ? btn('clear', 'Clear', 'Clear the rating', null, '0') : null,
      btn('note', row.feedback?.comment ? 'Edit note' : 'Note…', 'Add or edit a feedback note', null, 'n'),
      btn('correct', 'Correct…', 'Write a better answer (a correction: an SFT target and a DPO pair)', null, 'c'),
    );
  }

  private hl(text: string): DocumentFragment {
    const span = document.createElement('span');
    appendHighlighted(span, text, this.state.query);
    const frag = document.createDocumentFragment();
    frag.append(...span.childNodes);
    return frag;
  }

  lineCard(row: TimelineLineRow): HTMLElement {
    const classes = ['card', 'line', `problem-${row.problem}`, `worst-${row.worst}`];
    if (row.own && this.multi) classes.push('own');
    if (row.key === this.state.selectedKey) classes.push('selected');
    const card = h('article', {
      class: classes.join(' '),
      'data-key': row.key,
      'aria-label': `${PROBLEM_WORDS[row.problem]} ${row.shard} line ${row.line}`,
      tabindex: -1,
    });
    card.append(
      h(
        'div',
        { class: 'card-head' },
        icon(row.problem === 'torn' ? 'debug-disconnect' : row.problem === 'glued' ? 'link' : 'error', 'glyph'),
        h('span', { class: 'badge problem' }, PROBLEM_WORDS[row.problem]),
        h('span', { class: 'loc' }, `${row.shard}:${row.line}`),
        h('span', { class: 'muted' }, formatBytes(row.length)),
        row.near !== null
          ? h('span', { class: 'muted', title: 'Time of the nearest earlier event in this shard' }, `after ${formatTimestamp(row.near)}`)
          : null,
        row.own && this.multi ? h('span', { class: 'own-tag' }, 'this shard') : null,
        h('span', { class: 'grow' }),
        h('button', { type: 'button', class: 'link', 'data-action': 'open', 'data-shard': row.shard, 'data-line': row.line }, `Open at line ${row.line}`),
      ),
    );
    card.append(h('div', { class: 'detail' }, row.detail));
    const pre = h('pre', { class: 'raw', 'aria-label': 'Raw line text' });
    appendHighlighted(pre, row.raw, this.state.query);
    if (row.rawTruncated) pre.append(h('span', { class: 'muted' }, ` … (preview; the line is ${formatBytes(row.length)})`));
    card.append(pre);
    if (row.glued) {
      card.append(
        h(
          'div',
          { class: 'banner glued-banner' },
          icon('history'),
          ' ',
          `A complete “${row.glued.name}” event${row.glued.turnId ? ` of turn ${row.glued.turnId}` : ''} is glued on at byte ${row.glued.atByte ?? '?'}${row.glued.at !== null ? ` (${formatTimestamp(row.glued.at)})` : ''}; upstream loses it.`,
        ),
      );
    }
    return card;
  }
}
