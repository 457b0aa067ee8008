/**
 * Deterministic fixtures: hermes-webui sessions folders written byte-for-byte the way
 * upstream writes them (see /work/shared/FORMATS.md sections 1 and 2), with planted
 * anomalies and a GROUND-TRUTH manifest produced while generating (never by reading
 * the files back).
 *
 * Entry points
 * - {@link generateSessionsFolder}(dir, opts)   seeded random sessions + every anomaly kind.
 * - {@link writeSessionsFolder}(dir, specs, opts) the same writer driven by hand-written specs
 *   (used by scripts/make-demo.mjs).
 * - {@link generateLargeFolder}(dir, opts) / {@link generateLargeSession}(dir, opts)
 *   fast streaming writers for benchmarks.
 * - {@link appendEventLine}(shardPath, event) appends one line like upstream (O_APPEND,
 *   one write, fsync), to simulate another process appending.
 * - {@link buildJournalEvent}, {@link pyJsonDumps}, {@link pySplitlines}: helpers.
 *
 * Bytes on disk (what upstream does)
 * - `SESSION_DIR/_turn_journal/<sid>~<pid>.jsonl` shards (one per writing process) and the
 *   legacy `<sid>.jsonl`; one event per line: Python
 *   `json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"`: non-ASCII raw,
 *   only `"` `\` and control characters < 0x20 escaped (`\n`, `\t`, `\u0000`, lowercase hex),
 *   U+2028 / U+2029 / U+0085 / U+007F left RAW, floats in Python `repr` form
 *   (`1763725931.8244069`, `1763725931.0`, `1e+16`, `NaN`, `Infinity`).
 * - Field order: payload fields (`event`, `stream_id`, then the event's extra fields), then
 *   `version`, `session_id`, `turn_id`, `created_at` (upstream's `dict(event)` +
 *   `setdefault`s), then `terminal` for terminal events (newer upstream adds it with
 *   `setdefault("terminal", True)` after `created_at`).
 * - Sidecars `SESSION_DIR/<sid>.json`: `json.dumps(obj, indent=2, ensure_ascii=False)`, no
 *   trailing newline; `SESSION_DIR/_index.json` is a list of compact entries, same style.
 *
 * CANONICAL EVENT ORDER (cross-shard), used for every "latest"/tie statement in manifests:
 *   1. shards of a session sorted by FILE NAME (code-unit order: the legacy `<sid>.jsonl`
 *      sorts before `<sid>~<pid>.jsonl` since "." < "~"; pids compare as text, `~10` < `~9`),
 *   2. lines of a shard in file order,
 *   3. then a STABLE sort by `created_at` (missing or non-numeric -> 0).
 *   The latest event of a turn is the one with the greatest `created_at`; ties go to the one
 *   later in that order. Collisions list a turn's terminal events in that order too.
 *   (Upstream iterates `glob()` order, i.e. unsorted directory order with the legacy file
 *   last, so upstream's own answer for a cross-shard tie is filesystem dependent.)
 *
 * Two views in every {@link SessionManifest}
 * - truth (top-level fields): what a CORRECT reader should recover: lines are split on "\n"
 *   only (physical lines, 1-based), a trailing "\r" is dropped, one UTF-8 BOM at the start
 *   of a shard is ignored, U+2028/U+2029/U+0085 inside strings are content, the valid event
 *   glued after a torn fragment is recovered, and lines that are not strict JSON objects
 *   (incl. `NaN`/`Infinity`, invalid UTF-8) are malformed.
 * - `upstream`: exactly what hermes-webui (and test/support/upstream_reader.py) reports:
 *   `splitlines()` numbering, BOM line malformed, NaN accepted, `UnicodeDecodeError` /
 *   `ValueError` for the whole session, glued event lost, split lines malformed.
 *
 * Determinism: all randomness comes from {@link Rng} (seeded sfc32); nothing reads the clock.
 * Timestamps are relative to `opts.now` (default {@link FIXED_NOW}); pass
 * `now: Date.now() / 1000` if a test needs the "live" turn to be really fresh.
 */
// The generator lives in test/support/fixtures/, one file per concern:
//   random.ts (Rng), pyJson.ts (Python-compatible JSON, splitlines), spec.ts (constants, specs),
//   manifest.ts (ground-truth types), events.ts (turn ids, upstream's field order, append),
//   writer*.ts (writeSessionsFolder and its phases), generate.ts (generateSessionsFolder),
//   large.ts (benchmark folders).
export * from './fixtures/random';
export * from './fixtures/pyJson';
export * from './fixtures/spec';
export * from './fixtures/manifest';
export * from './fixtures/events';
export { writeSessionsFolder } from './fixtures/writer';
export * from './fixtures/generate';
export * from './fixtures/large';
