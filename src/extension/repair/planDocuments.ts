/**
 * Read-only Markdown documents under the `bot-memory-plan:` scheme: repair plans and audit
 * reports. Content lives in memory; opening shows the rendered Markdown preview (the raw
 * text when the preview is unavailable).
 */

import * as vscode from 'vscode';
import { Disposable } from '../dispose';

export const PLAN_SCHEME = 'bot-memory-plan';

export class PlanDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private counter = 0;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(PLAN_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '# Gone\n\nThis plan is no longer available; run the command again.\n';
  }

  /** The text of a document shown earlier (tests read it). */
  text(uri: vscode.Uri): string | undefined {
    return this.contents.get(uri.toString());
  }

  /**
   * Puts `note` (our own Markdown: what happened to this plan) above the document's text; an
   * open preview follows. False when the document is gone.
   */
  annotate(uri: vscode.Uri, note: string): boolean {
    const k = uri.toString();
    const text = this.contents.get(k);
    if (text === undefined) return false;
    this.contents.set(k, `${note}\n\n${text}`);
    this.changed.fire(uri);
    return true;
  }

  /** Stores `markdown` under a new URI named `name` and opens it (`beside`: in the next editor group, the current one stays). */
  async show(name: string, markdown: string, options: { open?: boolean; beside?: boolean } = {}): Promise<vscode.Uri> {
    const safe = name.replace(/[^A-Za-z0-9 _.-]/g, '_').slice(0, 80);
    const uri = vscode.Uri.from({ scheme: PLAN_SCHEME, path: `/${safe}.md`, query: String(++this.counter) });
    this.contents.set(uri.toString(), markdown);
    while (this.contents.size > 20) this.contents.delete(this.contents.keys().next().value as string);
    this.changed.fire(uri);
    if (options.open !== false) {
      try {
        await vscode.commands.executeCommand(options.beside ? 'markdown.showPreviewToSide' : 'markdown.showPreview', uri);
      } catch {
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(doc, { preview: true, viewColumn: options.beside ? vscode.ViewColumn.Beside : undefined });
      }
    }
    return uri;
  }
}
