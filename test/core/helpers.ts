/** Small helpers for core tests: temp folders and upstream-shaped event lines. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** One registry per process, shared by every test bundle that includes this helper. */
const registry = ((globalThis as Record<string, unknown>).__bmaTempDirs ??= (() => {
  const dirs: string[] = [];
  if (!process.env.BMA_KEEP_TMP) {
    process.on('exit', () => {
      for (const d of dirs) {
        try {
          fs.rmSync(d, { recursive: true, force: true });
        } catch {
          // best effort
        }
      }
    });
  }
  return dirs;
})()) as string[];

/** A fresh temp folder, removed when the test process exits (BMA_KEEP_TMP=1 keeps them). */
export function tempDir(prefix = 'bma-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  registry.push(dir);
  return dir;
}

/** A sessions folder with an empty `_turn_journal/`. */
export function sessionsDir(): { dir: string; journal: string } {
  const dir = tempDir();
  const journal = path.join(dir, '_turn_journal');
  fs.mkdirSync(journal);
  return { dir, journal };
}

export const T0 = 1767225600; // 2026-01-01T00:00:00Z

export function ev(name: string, turn: string, at: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const e: Record<string, unknown> = { event: name, stream_id: `stream-${turn}`, ...extra, version: 1, session_id: 'sess', turn_id: turn, created_at: at };
  if (name === 'completed' || name === 'interrupted') e.terminal = true;
  if (name === 'submitted')
    Object.assign(e, { role: 'user', content: extra.content ?? `question ${turn}`, attachments: [], model: 'gpt-x', model_provider: 'openai' });
  return e;
}

export function line(e: unknown): string {
  return JSON.stringify(e) + '\n';
}

export function lifecycle(turn: string, at: number, terminal: 'completed' | 'interrupted' | null = 'completed', extra: Record<string, unknown> = {}): string {
  let s =
    line(ev('submitted', turn, at, extra)) +
    line(ev('worker_started', turn, at + 0.2)) +
    line(ev('assistant_started', turn, at + 1.1, { assistant_message_index: 1 }));
  if (terminal === 'completed') s += line(ev('completed', turn, at + 14.3, { assistant_message_index: 1 }));
  if (terminal === 'interrupted') s += line(ev('interrupted', turn, at + 3, { reason: 'cancelled' }));
  return s;
}
