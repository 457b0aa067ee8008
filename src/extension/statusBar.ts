/** "$(warning) 3 sessions need attention": click to see them in the Sessions view. */

import * as vscode from 'vscode';
import { Commands } from './commandIds';
import { Coalesced, Disposable } from './dispose';
import type { SessionStore } from './store';
import { plural } from './words';

export class AttentionStatusBar extends Disposable {
  readonly item = this._register(vscode.window.createStatusBarItem('botMemory.attention', vscode.StatusBarAlignment.Left, 10));
  private readonly updates = this._register(new Coalesced(() => this.update(), 250));

  constructor(private readonly store: SessionStore) {
    super();
    this.item.name = 'Bot Memory: sessions needing attention';
    this.item.command = Commands.focusAttention;
    this._register(store.onDidChange(() => this.updates.schedule()));
    this._register(store.onDidChangeRoots(() => this.updates.schedule()));
    this.update();
  }

  /** Counts of sessions by worst finding (error or warning), from cached summaries. */
  counts(): { errors: number; warnings: number; total: number } {
    let errors = 0;
    let warnings = 0;
    let total = 0;
    for (const r of this.store.roots()) {
      for (const s of this.store.index.sessions(r.id)) {
        total++;
        const sum = this.store.index.cachedSummary(r.id, s.sessionId);
        if (sum?.worst === 'error') errors++;
        else if (sum?.worst === 'warning') warnings++;
      }
    }
    return { errors, warnings, total };
  }

  update(): void {
    const { errors, warnings, total } = this.counts();
    if (total === 0) {
      this.item.hide();
      return;
    }
    const n = errors + warnings;
    if (n === 0) {
      this.item.text = '$(pass) Bot Memory';
      this.item.tooltip = total === 1 ? 'The session is healthy' : `All ${plural(total, 'session')} are healthy`;
      this.item.backgroundColor = undefined;
    } else {
      this.item.text = `$(${errors ? 'error' : 'warning'}) ${plural(n, 'session')} need${n === 1 ? 's' : ''} attention`;
      this.item.tooltip = `${errors} with errors, ${warnings} with warnings, of ${plural(total, 'session')}. Click to show them.`;
      this.item.backgroundColor = errors ? new vscode.ThemeColor('statusBarItem.errorBackground') : new vscode.ThemeColor('statusBarItem.warningBackground');
    }
    this.item.show();
  }
}
