/**
 * The memory databases the "Memories" view shows (setting `botMemory.memory.databases`), each
 * audited by the core (src/core/memory) and re-audited when its file or `-wal` changes.
 * The audit reads a private copy of the database (core/memory/load.ts): the bot's own file is
 * never opened, locked or written.
 */

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { auditMemoryLedger, type MemoryAudit } from '../../core/memory/audit';
import type { MemoryLedgerSettings } from '../../core/memory/config';
import { expandPath, SECTION } from '../config';
import { Disposable } from '../dispose';

export interface Ledger {
  /** Absolute path of the database or JSONL export. */
  file: string;
  audit?: MemoryAudit;
  /** Why it could not be audited (missing file, schema that does not fit the settings). */
  error?: string;
  auditedAt?: number;
}

/** `botMemory.memory.*` as core settings (empty strings and objects mean "detect"). */
export function readMemorySettings(): MemoryLedgerSettings {
  const c = vscode.workspace.getConfiguration(`${SECTION}.memory`);
  const str = (k: string) => {
    const v = c.get<unknown>(k);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const num = (k: string) => {
    const v = c.get<unknown>(k);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const map = (k: string) => {
    const v = c.get<unknown>(k);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'string' && x.trim() !== '')) as Record<
      string,
      string
    >;
  };
  const kinds = c.get<unknown>('ignoreKinds');
  const s: MemoryLedgerSettings = {
    eventsTable: str('eventsTable'),
    memoriesTable: str('memoriesTable'),
    eventColumns: map('eventColumns'),
    memoryColumns: map('memoryColumns'),
    payloadKeys: map('payloadKeys'),
    pinCap: num('pinCap'),
    autoPinScore: num('autoPinScore'),
    ignoreKinds: Array.isArray(kinds) ? kinds.filter((k): k is string => typeof k === 'string') : [],
    snapshotsDir: str('snapshotsDir') && expandPath(str('snapshotsDir')!),
    backupsDir: str('backupsDir') && expandPath(str('backupsDir')!),
    backupMaxAgeHours: num('backupMaxAgeHours'),
  };
  return s;
}

/** Configured database paths: `~` and `${env:…}` expanded, relative ones against the first workspace folder. */
export function configuredDatabases(): string[] {
  const v = vscode.workspace.getConfiguration(`${SECTION}.memory`).get<unknown>('databases');
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const list = Array.isArray(v) ? v.filter((d): d is string => typeof d === 'string' && d.trim() !== '') : [];
  return [...new Set(list.map((d) => path.resolve(base, expandPath(d))))];
}

export class MemoryLedgers extends Disposable {
  private readonly ledgers = new Map<string, Ledger>();
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changeEmitter = this._register(new vscode.EventEmitter<Ledger | undefined>());
  /** A ledger was re-audited (undefined: the list changed). */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly output: vscode.LogOutputChannel) {
    super();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.memory`)) this.reload();
      }),
    );
    this._register({
      dispose: () => {
        for (const w of this.watchers.values()) w.close();
        for (const t of this.timers.values()) clearTimeout(t);
      },
    });
  }

  list(): Ledger[] {
    return [...this.ledgers.values()];
  }

  get(file: string): Ledger | undefined {
    return this.ledgers.get(file);
  }

  /** Re-reads the setting; audits every database again. */
  reload(): void {
    const files = configuredDatabases();
    for (const f of [...this.ledgers.keys()]) {
      if (files.includes(f)) continue;
      this.ledgers.delete(f);
      this.watchers.get(f)?.close();
      this.watchers.delete(f);
    }
    for (const f of files) {
      this.audit(f, false);
      this.watch(f);
    }
    this.changeEmitter.fire(undefined);
  }

  /** Audits one database now (synchronously: the core reads a private copy). */
  audit(file: string, fire = true): Ledger {
    const ledger: Ledger = { file, auditedAt: Date.now() };
    try {
      ledger.audit = auditMemoryLedger(file, { settings: readMemorySettings() });
    } catch (e) {
      ledger.error = e instanceof Error ? e.message : String(e);
      this.output.warn(`Memory audit of ${file}: ${ledger.error}`);
    }
    this.ledgers.set(file, ledger);
    if (fire) this.changeEmitter.fire(ledger);
    return ledger;
  }

  /** Watches the folder (the database, its -wal, backups appear and vanish) and re-audits after a quiet moment. */
  private watch(file: string): void {
    if (this.watchers.has(file)) return;
    const dir = path.dirname(file);
    const base = path.basename(file);
    try {
      const w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (name !== null && !String(name).startsWith(base)) return;
        clearTimeout(this.timers.get(file));
        this.timers.set(
          file,
          setTimeout(() => {
            this.timers.delete(file);
            if (this.ledgers.has(file)) this.audit(file);
          }, 400),
        );
      });
      w.on('error', () => w.close());
      this.watchers.set(file, w);
    } catch {
      // the folder does not exist yet: Refresh audits it again
    }
  }
}
