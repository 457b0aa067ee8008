/**
 * Running hermes-webui's OWN Python code in tests (its writer, its run-journal summary, its
 * recovery audit). Nothing of upstream is kept in this repository: the modules are read from
 * the upstream mirror (a bare git dir; `BMA_UPSTREAM_MIRROR` overrides the default path) into a
 * temp folder. Tests that need it skip, saying why, when the mirror or python3 is missing; CI
 * provides both (scripts/setup.sh).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';

const MIRROR = process.env.BMA_UPSTREAM_MIRROR ?? '/work/.mirror/nesquena+hermes-webui/repo';
const MODULES = ['turn_journal', 'run_journal', 'session_recovery'];
const ROOT = [path.resolve(__dirname, '../../..'), process.cwd()].find((d) => fs.existsSync(path.join(d, 'test/support/upstream_writer.py')));

let src: string | null | undefined;

/** A folder holding `api/{turn_journal,run_journal,session_recovery}.py` from the mirror, or null. */
export function upstreamSource(): string | null {
  if (src !== undefined) return src;
  src = null;
  if (!ROOT || spawnSync('python3', ['--version']).status !== 0 || !fs.existsSync(MIRROR)) return src;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-upstream-src-'));
  fs.mkdirSync(path.join(dir, 'api'));
  fs.writeFileSync(path.join(dir, 'api', '__init__.py'), '');
  for (const m of MODULES) {
    const r = spawnSync('git', ['--git-dir', MIRROR, 'show', `HEAD:api/${m}.py`], { maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) return src;
    fs.writeFileSync(path.join(dir, 'api', `${m}.py`), r.stdout);
  }
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  src = dir;
  return src;
}

/** Why upstream's code cannot run here ('' when it can). */
export function upstreamUnavailable(): string {
  if (upstreamSource()) return '';
  return `upstream's source is not available (python3 and the mirror at ${MIRROR}, or BMA_UPSTREAM_MIRROR)`;
}

export type WriterStep = Record<string, unknown> & { op: string };
export interface WriterResult {
  op: string;
  written?: Record<string, unknown>;
  dropped?: string;
  bytes?: number;
}

/** Runs test/support/upstream_writer.py: upstream's writer code builds `sessionDir` step by step. */
export function runUpstreamWriter(sessionDir: string, steps: WriterStep[]): WriterResult[] {
  const source = upstreamSource();
  if (!source) throw new Error(upstreamUnavailable());
  const out = execFileSync('python3', [path.join(ROOT!, 'test/support/upstream_writer.py'), source, sessionDir], {
    input: JSON.stringify(steps),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out) as WriterResult[];
}

/** Runs a Python snippet with upstream's `api` package importable; `argv` follows the script. */
export function runUpstreamPython(code: string, argv: string[] = []): string {
  const source = upstreamSource();
  if (!source) throw new Error(upstreamUnavailable());
  return execFileSync('python3', ['-c', code, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: source },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Upstream's `audit_session_recovery(session_dir, state_db_path)`, as its `--audit` prints it. */
export function runUpstreamAudit(sessionDir: string, stateDb?: string): { status: string; summary: Record<string, number>; items: Record<string, unknown>[] } {
  const code = [
    'import json, sys',
    'from pathlib import Path',
    'from api.session_recovery import audit_session_recovery',
    'db = Path(sys.argv[2]) if len(sys.argv) > 2 else None',
    'print(json.dumps(audit_session_recovery(Path(sys.argv[1]), state_db_path=db), sort_keys=True))',
  ].join('\n');
  return JSON.parse(runUpstreamPython(code, stateDb ? [sessionDir, stateDb] : [sessionDir]));
}

/** Upstream's `latest_run_summary` for each `[sid, runId]` (one Python process for all). */
export function runUpstreamRunSummaries(sessionDir: string, runs: [string, string][]): (Record<string, unknown> & { error?: string })[] {
  const code = [
    'import json, sys',
    'from pathlib import Path',
    'from api.run_journal import latest_run_summary',
    'out = []',
    'for sid, rid in json.loads(sys.argv[2]):',
    '    try:',
    '        out.append(latest_run_summary(sid, rid, session_dir=Path(sys.argv[1])))',
    '    except Exception as exc:',
    '        out.append({"error": type(exc).__name__})',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(runUpstreamPython(code, [sessionDir, JSON.stringify(runs)]));
}
