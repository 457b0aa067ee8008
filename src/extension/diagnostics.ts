/**
 * Problems panel entries for shard files, present without opening them: filled from the
 * summaries the index computes in the background, updated live, removed when fixed.
 */

import * as path from 'path';
import * as vscode from 'vscode';
import type { IndexChange } from '../core/sessionIndex';
import { folderItemFile, recoveryMessage, recoverySeverity } from '../core/audit';
import type { RecoveryItem } from '../core/recoveryAudit';
import type { Finding, FindingKind } from '../core/types';
import { Disposable } from './dispose';
import type { SessionStore } from './store';
import { plainText } from './untrustedText';

/** Normal lifecycle facts are not problems. */
const NOT_PROBLEMS: ReadonlySet<FindingKind> = new Set(['interrupted_turn', 'unknown_event']);

export const DIAGNOSTIC_SOURCE = 'Bot Memory';

export class DiagnosticsPublisher extends Disposable {
  readonly collection = this._register(vscode.languages.createDiagnosticCollection('botMemory'));
  /** The shard files each session last published to, to clear them when fixed. */
  private published = new Map<string, Set<string>>();

  /** Per root: the files its last Audit Sessions run put upstream's folder items on. */
  private folderFiles = new Map<string, Set<string>>();

  constructor(private readonly store: SessionStore) {
    super();
    this._register(store.onDidChange((c) => this.update(c)));
    this._register(
      store.onDidChangeRoots(() => {
        this.updateAll();
        for (const rootId of [...this.folderFiles.keys()]) if (!this.store.index.root(rootId)) this.publishFolderItems(rootId, '', []);
      }),
    );
  }

  /**
   * hermes-webui's own audit items about the folder's files (a shrunk sidecar, an orphan backup,
   * `_index.json`, state.db rows without a sidecar) from an Audit Sessions run, on the file each is
   * about; they replace the root's previous ones (the next run clears what was fixed). Open turns
   * are the journal's, shown on the shards already.
   */
  publishFolderItems(rootId: string, sessionsDir: string, items: readonly RecoveryItem[]): void {
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const i of items) if (i.kind !== 'turn_journal_pending_turn') addTo(byFile, path.join(sessionsDir, folderItemFile(i)), folderDiagnostic(i));
    this.replace(this.folderFiles, rootId, byFile);
  }

  private updateAll(): void {
    const live = new Set<string>();
    for (const r of this.store.roots()) {
      for (const s of this.store.index.sessions(r.id)) {
        live.add(`${r.id}\0${s.sessionId}`);
        this.publish(r.id, s.sessionId);
      }
    }
    for (const k of [...this.published.keys()]) if (!live.has(k)) this.clear(k);
  }

  private update(c: IndexChange): void {
    if (c.sessions === 'all') {
      this.updateAll();
      return;
    }
    for (const s of c.sessions) this.publish(c.rootId, s);
  }

  private clear(k: string): void {
    for (const file of this.published.get(k) ?? []) this.collection.delete(vscode.Uri.file(file));
    this.published.delete(k);
  }

  private publish(rootId: string, sessionId: string): void {
    const k = `${rootId}\0${sessionId}`;
    const root = this.store.index.root(rootId);
    const exists = root?.sessions.has(sessionId);
    const summary = exists ? this.store.index.cachedSummary(rootId, sessionId) : undefined;
    if (!root || !exists) {
      this.clear(k);
      return;
    }
    if (!summary) return; // not read yet: keep what was shown
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const f of mergeGluedLines(summary.lineFindings)) {
      if (NOT_PROBLEMS.has(f.kind) || f.shard === undefined) continue;
      addTo(byFile, path.join(root.journalDir, f.shard), toDiagnostic(f));
    }
    this.replace(this.published, k, byFile);
  }

  /** Shows `byFile` as `owner[key]`'s entries: files it showed before and no longer has are cleared. */
  private replace(owner: Map<string, Set<string>>, key: string, byFile: Map<string, vscode.Diagnostic[]>): void {
    for (const file of owner.get(key) ?? []) if (!byFile.has(file)) this.collection.delete(vscode.Uri.file(file));
    for (const [file, diags] of byFile) this.collection.set(vscode.Uri.file(file), diags);
    if (byFile.size) owner.set(key, new Set(byFile.keys()));
    else owner.delete(key);
  }
}

function addTo(byFile: Map<string, vscode.Diagnostic[]>, file: string, d: vscode.Diagnostic): void {
  const list = byFile.get(file);
  if (list) list.push(d);
  else byFile.set(file, [d]);
}

const LINE_KINDS: ReadonlySet<FindingKind> = new Set(['malformed_line', 'torn_tail']);

/**
 * A glued line (a torn write with a complete event after it) is one physical line that the
 * core reports twice: the line is malformed AND an event is glued into it. The Problems panel
 * shows it once: the `glued_event` finding, its message naming both, reviewed only when both are.
 */
export function mergeGluedLines(findings: readonly Finding[]): Finding[] {
  const where = (f: Finding) => `${f.shard}\0${f.line}`;
  const glued = new Map<string, Finding>();
  for (const f of findings) if (f.kind === 'glued_event' && f.shard !== undefined && f.line !== undefined) glued.set(where(f), f);
  if (glued.size === 0) return [...findings];
  const absorbed = new Map<string, Finding>();
  for (const f of findings) if (LINE_KINDS.has(f.kind) && glued.has(where(f)) && !absorbed.has(where(f))) absorbed.set(where(f), f);
  const out: Finding[] = [];
  for (const f of findings) {
    const k = where(f);
    if (LINE_KINDS.has(f.kind) && absorbed.get(k) === f) continue;
    const line = f.kind === 'glued_event' ? absorbed.get(k) : undefined;
    if (!line) {
      out.push(f);
      continue;
    }
    const reviewed = f.reviewed && line.reviewed ? line.reviewed : undefined;
    out.push({ ...f, message: `glued line: ${f.message} (the line as written: ${line.message})`, reviewed });
  }
  return out;
}

export function toDiagnostic(f: Finding): vscode.Diagnostic {
  const line = Math.max(0, (f.line ?? 1) - 1);
  // A finding the repair log records as reviewed is known: shown as information, with its note.
  const message = plainText(f.reviewed ? `${f.message} — reviewed: ${f.reviewed.note}${f.reviewed.by ? ` (${f.reviewed.by})` : ''}` : f.message, 2000);
  const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, 10_000), message, f.reviewed ? vscode.DiagnosticSeverity.Information : severity(f));
  d.source = DIAGNOSTIC_SOURCE;
  d.code = f.kind;
  return d;
}

function folderDiagnostic(i: RecoveryItem): vscode.Diagnostic {
  const message = plainText(`${recoveryMessage(i)} (hermes-webui's own audit: ${i.category}, ${i.recommendation}; as of the last Audit Sessions run)`, 2000);
  const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 10_000), message, severity({ severity: recoverySeverity(i) }));
  d.source = DIAGNOSTIC_SOURCE;
  d.code = i.kind;
  return d;
}

function severity(f: Pick<Finding, 'severity'>): vscode.DiagnosticSeverity {
  return f.severity === 'error'
    ? vscode.DiagnosticSeverity.Error
    : f.severity === 'warning'
      ? vscode.DiagnosticSeverity.Warning
      : vscode.DiagnosticSeverity.Information;
}
