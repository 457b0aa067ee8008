/**
 * Memory findings in the Problems panel: on the database file (line 1: a database has no
 * lines), or on the JSONL export at the event's line.
 */

import * as vscode from 'vscode';
import { DIAGNOSTIC_SOURCE } from '../diagnostics';
import { Disposable } from '../dispose';
import type { MemoryLedgers } from './ledgers';

export class MemoryDiagnostics extends Disposable {
  readonly collection = this._register(vscode.languages.createDiagnosticCollection('botMemory.memory'));
  private published = new Set<string>();

  constructor(private readonly ledgers: MemoryLedgers) {
    super();
    this._register(ledgers.onDidChange(() => this.update()));
    this.update();
  }

  update(): void {
    const now = new Set<string>();
    for (const l of this.ledgers.list()) {
      const uri = vscode.Uri.file(l.file);
      now.add(l.file);
      if (l.error !== undefined) {
        const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `Memory audit failed: ${l.error}`, vscode.DiagnosticSeverity.Error);
        d.source = DIAGNOSTIC_SOURCE;
        d.code = 'memory_audit_failed';
        this.collection.set(uri, [d]);
        continue;
      }
      const diags: vscode.Diagnostic[] = [];
      for (const f of l.audit?.findings ?? []) {
        const line = Math.max(0, (f.line ?? 1) - 1);
        const where = f.sessionId !== l.audit!.input.label ? `[${f.sessionId}] ` : '';
        const d = new vscode.Diagnostic(
          new vscode.Range(line, 0, line, f.line !== undefined ? 10_000 : 0),
          `${where}${f.message}`,
          f.severity === 'error'
            ? vscode.DiagnosticSeverity.Error
            : f.severity === 'warning'
              ? vscode.DiagnosticSeverity.Warning
              : vscode.DiagnosticSeverity.Information,
        );
        d.source = DIAGNOSTIC_SOURCE;
        d.code = f.kind;
        diags.push(d);
      }
      this.collection.set(uri, diags);
    }
    for (const f of this.published) if (!now.has(f)) this.collection.delete(vscode.Uri.file(f));
    this.published = now;
  }
}
