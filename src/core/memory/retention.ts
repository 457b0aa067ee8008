/**
 * Snapshot and backup folders (seed 001's worker): periodic snapshots are pruned to 5, nightly
 * backups (about 03:00, taken only when the newest is at least 23 h old) to 14. Checked only
 * when the folders exist. File times are modification times.
 */

import * as fs from 'fs';
import { openReadSync } from '../fsSafe';
import * as path from 'path';
import type { ResolvedLimits } from './config';
import type { MemoryFinding } from './replay';

export interface FolderFile {
  name: string;
  mtime: number; // epoch seconds
  size: number;
}

export interface RetentionReport {
  snapshots: { dir: string; files: FolderFile[] } | null;
  backups: { dir: string; files: FolderFile[] } | null;
}

const SIDE = /-(wal|shm|journal)$/;

function listFiles(dir: string): FolderFile[] | null {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  const out: FolderFile[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || SIDE.test(e.name)) continue;
    const p = path.join(dir, e.name);
    try {
      const st = fs.statSync(p);
      if (st.isFile() || st.isDirectory()) out.push({ name: e.name, mtime: st.mtimeMs / 1000, size: st.size });
    } catch {
      // vanished meanwhile
    }
  }
  return out.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
}

/** An event time as epoch seconds: numbers (seconds, or milliseconds past 1e12), numeric or ISO text (SQLite's `YYYY-MM-DD HH:MM:SS` is UTC). */
export function eventTime(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e12 ? v / 1000 : v;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return eventTime(Number(s));
  let iso = s.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t / 1000;
}

function hours(s: number): string {
  return `${(s / 3600).toFixed(1)} h`;
}

export function checkRetention(opts: {
  snapshotsDir: string;
  backupsDir: string;
  label: string;
  limits: ResolvedLimits;
  lastEventTime: number | null;
  now: number;
}): { findings: MemoryFinding[]; report: RetentionReport } {
  const { limits, label } = opts;
  const findings: MemoryFinding[] = [];
  const report: RetentionReport = { snapshots: null, backups: null };
  const add = (kind: MemoryFinding['kind'], severity: MemoryFinding['severity'], message: string) =>
    findings.push({ kind, severity, sessionId: label, message });

  const snaps = listFiles(opts.snapshotsDir);
  if (snaps) {
    // take_snapshot(kind="periodic"): only periodic snapshots are pruned; other kinds are kept.
    const periodic = snaps.some((f) => /periodic/i.test(f.name)) ? snaps.filter((f) => /periodic/i.test(f.name)) : snaps;
    report.snapshots = { dir: opts.snapshotsDir, files: periodic };
    if (periodic.length > limits.snapshotKeep) {
      add(
        'retention_exceeded',
        'warning',
        `${opts.snapshotsDir} holds ${periodic.length} periodic snapshots; the worker keeps ${limits.snapshotKeep} (pruning is not happening)`,
      );
    }
    const newest = periodic.at(-1);
    if (opts.lastEventTime !== null) {
      if (!newest) add('snapshot_stale', 'warning', `${opts.snapshotsDir} holds no periodic snapshot although the log has events`);
      else if (opts.lastEventTime - newest.mtime > limits.snapshotMaxAgeHours * 3600) {
        add(
          'snapshot_stale',
          'warning',
          `the newest periodic snapshot (${newest.name}) is ${hours(opts.lastEventTime - newest.mtime)} older than the newest event (limit ${limits.snapshotMaxAgeHours} h)`,
        );
      }
    }
  }

  const backups = listFiles(opts.backupsDir);
  if (backups) {
    report.backups = { dir: opts.backupsDir, files: backups };
    if (backups.length > limits.backupKeep)
      add(
        'retention_exceeded',
        'warning',
        `${opts.backupsDir} holds ${backups.length} backups; the nightly job keeps ${limits.backupKeep} (pruning is not happening)`,
      );
    const newest = backups.at(-1);
    if (!newest) add('backup_stale', 'warning', `${opts.backupsDir} holds no backup`);
    else if (opts.now - newest.mtime > limits.backupMaxAgeHours * 3600) {
      add(
        'backup_stale',
        'warning',
        `the newest backup (${newest.name}) is ${hours(opts.now - newest.mtime)} old; nightly backups should be at most ${limits.backupMaxAgeHours} h old (is the bot running?)`,
      );
    }
    for (let i = 1; i < backups.length; i++) {
      const gap = backups[i].mtime - backups[i - 1].mtime;
      if (gap < limits.backupMinSpacingHours * 3600) {
        add(
          'backup_too_frequent',
          'warning',
          `backups ${backups[i - 1].name} and ${backups[i].name} are ${hours(gap)} apart; the 23 h freshness guard allows one a night (limit ${limits.backupMinSpacingHours} h)`,
        );
      }
    }
    for (const f of backups) {
      if (!/\.(db|sqlite3?|bak)$/i.test(f.name)) continue;
      if (!isSqlite(path.join(opts.backupsDir, f.name))) add('backup_unreadable', 'warning', `backup ${f.name} is not a SQLite database (${f.size} bytes)`);
    }
  }
  return { findings, report };
}

function isSqlite(file: string): boolean {
  try {
    const { fd } = openReadSync(file, { followSymlink: true }); // never a FIFO or device
    try {
      const b = Buffer.alloc(16);
      return fs.readSync(fd, b, 0, 16, 0) === 16 && b.toString('latin1') === 'SQLite format 3\u0000';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}
