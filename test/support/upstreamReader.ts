/**
 * Running `upstream_reader.py` (hermes-webui's reading semantics in Python) from tests: the
 * one place that finds the script, knows whether python3 is here, and types its answer.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';

const ROOT = [path.resolve(__dirname, '../../..'), process.cwd()].find((d) => fs.existsSync(path.join(d, 'test/support/upstream_reader.py')));

/** Absolute path of upstream_reader.py, or '' when this bundle cannot find it. */
export const UPSTREAM_READER = ROOT ? path.join(ROOT, 'test/support/upstream_reader.py') : '';
/** python3 runs and the script was found: tests that need it skip otherwise. */
export const HAS_PYTHON = UPSTREAM_READER !== '' && spawnSync('python3', ['--version']).status === 0;

export interface UpstreamSession {
  states: Record<string, string>;
  collisions: { turn_id: string; events: string[] }[];
  malformed: { shard: string; line: number }[];
  event_count: number;
  /** Upstream's audit rule `turn_journal_pending_turn`. */
  pending: { turn_id: string; event: string }[];
  /** The exception class when upstream raises for the whole session. */
  error?: string;
}

export interface UpstreamResult {
  sessions: Record<string, UpstreamSession>;
  skipped: string[];
}

/** What hermes-webui's reader reports for a sessions folder. */
export function runUpstreamReader(dir: string): UpstreamResult {
  return JSON.parse(execFileSync('python3', [UPSTREAM_READER, dir], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })) as UpstreamResult;
}
