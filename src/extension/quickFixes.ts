/**
 * Quick fixes for the Problems panel (a `CodeActionProvider` on shard and sidecar files): each
 * Bot Memory diagnostic offers what can be done about it — open the turn in the timeline,
 * repair the session (the plan opens first; nothing is written before the confirmation), mark
 * a terminal collision reviewed, make a shard readable for hermes-webui. The actions only run
 * the existing commands (commands.ts); writing ones are offered in trusted workspaces only.
 */

import * as path from 'path';
import * as vscode from 'vscode';
import type { SessionRef } from '../core/sessionIndex';
import type { Finding, FindingKind } from '../core/types';
import { Commands } from './commandIds';
import { DIAGNOSTIC_SOURCE, mergeGluedLines } from './diagnostics';
import type { Registration, Services } from './services';
import { labelText } from './untrustedText';

/** What repair acts on (core/repair/plan.ts): a plan for these has work unless already reviewed. */
const REPAIRABLE: ReadonlySet<FindingKind> = new Set(['dangling_turn', 'pending_turn', 'upstream_pending_turn', 'malformed_line', 'torn_tail', 'glued_event']);
/** Findings about undecodable bytes: "Make Readable for hermes-webui" moves those lines aside. */
const UNREADABLE: ReadonlySet<FindingKind> = new Set(['upstream_unreadable', 'upstream_incompatible_line', 'malformed_line']);

export interface QuickFixes {
  provider: QuickFixProvider;
}

export class QuickFixProvider implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  constructor(private readonly services: Services) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const ref = this.services.store.index.locate(document.uri.fsPath);
    if (!ref) return [];
    const ours = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
    const actions: vscode.CodeAction[] = [];
    const seen = new Set<string>();
    for (const d of ours) {
      for (const a of this.actionsFor(ref, path.basename(document.uri.fsPath), d)) {
        // One diagnostic per line is the rule, but several on a line must not repeat the same action.
        const key = `${a.title}\0${JSON.stringify(a.command?.arguments ?? [])}`;
        if (seen.has(key)) continue;
        seen.add(key);
        actions.push(a);
      }
    }
    return actions;
  }

  /** The actions of one diagnostic, most useful first. */
  private actionsFor(ref: SessionRef, file: string, d: vscode.Diagnostic): vscode.CodeAction[] {
    const kind = codeOf(d);
    if (!kind) return [];
    const summary = this.services.store.index.cachedSummary(ref.rootId, ref.sessionId);
    const findings = mergeGluedLines(summary?.lineFindings ?? []);
    const line = d.range.start.line + 1;
    const finding = findings.find((f) => f.kind === kind && f.shard === file && f.line === line) ?? findings.find((f) => f.kind === kind && f.shard === file);
    const turnId = finding?.turnId ?? findings.find((f) => f.shard === file && f.line === line && f.turnId)?.turnId;
    const session = labelText(summary?.title || ref.sessionId, 60);
    const trusted = vscode.workspace.isTrusted;
    const reviewed = finding?.reviewed !== undefined;
    const out: vscode.CodeAction[] = [];
    if (trusted && !reviewed && REPAIRABLE.has(kind)) {
      out.push(action(`Repair session "${session}" (shows the plan first)…`, d, Commands.repairSession, [{ ...ref }], true));
    }
    if (trusted && !reviewed && kind === 'terminal_collision' && turnId) {
      out.push(action(`Mark collision of turn ${labelText(turnId, 40)} reviewed…`, d, Commands.markCollisionReviewed, [{ ...ref, turnId }], true));
    }
    if (trusted && UNREADABLE.has(kind) && unreadableShard(findings, file)) {
      out.push(action('Make readable for hermes-webui (shows the preview first)…', d, Commands.makeReadable, []));
    }
    const where = turnId ? `turn ${labelText(turnId, 40)}` : `session "${session}"`;
    out.push(action(`Open ${where} in the Turn Timeline`, d, Commands.openTimeline, [turnId ? { ...ref, turnId } : { ...ref }]));
    return out;
  }
}

/** The finding kind a diagnostic of ours carries in `code`. */
function codeOf(d: vscode.Diagnostic): FindingKind | undefined {
  const c = typeof d.code === 'object' && d.code !== null ? d.code.value : d.code;
  return typeof c === 'string' ? (c as FindingKind) : undefined;
}

/** True when the session's findings say `file` holds invalid UTF-8 (upstream cannot read it). */
function unreadableShard(findings: readonly Finding[], file: string): boolean {
  return findings.some((f) => f.kind === 'upstream_incompatible_line' && f.shard === file && /invalid UTF-8/.test(f.message));
}

function action(title: string, d: vscode.Diagnostic, command: string, args: unknown[], preferred = false): vscode.CodeAction {
  const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
  a.diagnostics = [d];
  a.command = { command, title, arguments: args };
  a.isPreferred = preferred;
  return a;
}

/** The quick-fix feature: one provider for shard (`_turn_journal/*.jsonl`) and sidecar files. */
export function registerQuickFixes(services: Services): Registration<QuickFixes> {
  const provider = new QuickFixProvider(services);
  const selector: vscode.DocumentSelector = [
    { scheme: 'file', pattern: '**/_turn_journal/*.jsonl' },
    { scheme: 'file', pattern: '**/*.json' },
  ];
  return { api: { provider }, disposables: [vscode.languages.registerCodeActionsProvider(selector, provider, QuickFixProvider.metadata)] };
}
