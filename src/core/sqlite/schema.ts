/**
 * The SQLite index's schema (docs/sqlite.md documents every column). Versioned with
 * `PRAGMA user_version`: a database of another version is never updated in place, the
 * next rebuild replaces it whole.
 *
 * A full rebuild creates EVENT_INDEXES with the tables and LATE_INDEXES once the rows are in.
 */

import * as path from 'path';

export const SCHEMA_VERSION = 6;

/** The default database file name, in the sessions folder. */
export const DEFAULT_INDEX_NAME = '_audit_index.sqlite';

/**
 * The default database of a log replay: the log's name with `.sqlite`, beside it
 * (`_github_log.jsonl` → `_github_log.sqlite`). Never the sessions folder's
 * DEFAULT_INDEX_NAME: a pulled log lives in the sessions folder, and a replay (always full)
 * must not replace the index built from its journals.
 */
export function logIndexPath(logFile: string): string {
  const abs = path.resolve(logFile);
  const base = path.basename(abs).replace(/\.jsonl?$/i, '');
  const name = base === '' || base === DEFAULT_INDEX_NAME.replace(/\.sqlite$/, '') ? `${path.basename(abs)}.sqlite` : `${base}.sqlite`;
  const out = path.join(path.dirname(abs), name);
  return out === abs ? `${abs}.sqlite` : out;
}

export const TABLES = ['meta', 'sessions', 'shards', 'events', 'turns', 'collisions', 'malformed', 'findings', 'feedback', 'session_tail'] as const;
export type TableName = (typeof TABLES)[number];

export const DDL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE sessions (
  session_id      TEXT PRIMARY KEY,
  source          TEXT NOT NULL,            -- 'journal' or 'log'
  title           TEXT,
  model           TEXT,
  model_provider  TEXT,
  sidecar_status  TEXT,                     -- 'ok' | 'missing' | 'invalid' (NULL for the log)
  sidecar_error   TEXT,
  sidecar_fingerprint TEXT,
  shard_count     INTEGER NOT NULL,
  event_count     INTEGER NOT NULL,
  turn_count      INTEGER NOT NULL,         -- turns with at least one valid event (audit's turn_count)
  open_turn_count INTEGER NOT NULL,
  collision_count INTEGER NOT NULL,
  malformed_count INTEGER NOT NULL,
  errors          INTEGER NOT NULL,
  warnings        INTEGER NOT NULL,
  infos           INTEGER NOT NULL,
  worst_severity  TEXT,
  first_activity  REAL,
  last_activity   REAL,
  run_fingerprint TEXT,                     -- the run journals _run_journal/<sid>/*.jsonl read (names, inodes, sizes, mtimes)
  append_ok       INTEGER NOT NULL          -- 1: a later append of new terminal turns can be indexed from the shards' tails alone
);
CREATE TABLE session_tail (                 -- what the incremental rebuild's tail path keeps per journal session (tailAppend.ts)
  session_id       TEXT PRIMARY KEY,
  sidecar_messages TEXT,                    -- JSON [count, digest, active_stream_id, max reply index, users, bytes] of the sidecar indexed (sidecarState.ts; NULL: none readable)
  id_bloom         BLOB NOT NULL,           -- Bloom filter of the session's events' stream ids and turn ids (streamBloom.ts)
  user_bloom       BLOB NOT NULL,           -- Bloom filter of its turns' user messages
  turn_rows        INTEGER NOT NULL         -- its rows in turns (the next ordinal)
);
CREATE TABLE shards (
  name            TEXT PRIMARY KEY,         -- file name in _turn_journal/ (or the log file name)
  session_id      TEXT NOT NULL,
  size            INTEGER NOT NULL,
  mtime_ms        REAL NOT NULL,
  fingerprint     TEXT NOT NULL,            -- inode, size, mtime and a hash of the last bytes read
  committed_size  INTEGER NOT NULL,         -- bytes up to the end of the last complete line
  lines           INTEGER NOT NULL,
  events          INTEGER NOT NULL,
  malformed       INTEGER NOT NULL,
  torn_tail       INTEGER NOT NULL,
  has_bom         INTEGER NOT NULL,
  crlf_lines      INTEGER NOT NULL,
  error           TEXT
);
CREATE TABLE events (                     -- upstream's view: events recovered from glued lines are in malformed.glued_event
  session_id  TEXT NOT NULL,
  shard       TEXT NOT NULL,
  line        INTEGER NOT NULL,             -- 1-based physical line
  offset      INTEGER NOT NULL,             -- byte offset of the line (of the event, for a glued one)
  length      INTEGER NOT NULL,
  turn_id     TEXT NOT NULL,                -- '' when the event has none (upstream reads a missing turn_id as "")
  stream_id   TEXT,
  event       TEXT NOT NULL,
  created_at  REAL,                         -- NULL unless a JSON number (the raw value is in the line)
  terminal    INTEGER NOT NULL,
  torn        INTEGER NOT NULL,             -- 1: the shard's final line, without its newline (yet)
  raw         TEXT,                         -- the line's JSON text as written, only with --inline-raw (meta inline_raw = 1);
                                            -- else NULL: the line is bytes [offset, offset + length) of the shard
  PRIMARY KEY (session_id, turn_id, shard, offset)
) WITHOUT ROWID;                            -- one B-tree, in (session, turn) order: no separate index, no rowid
CREATE TABLE turns (
  session_id        TEXT NOT NULL,
  turn_id           TEXT NOT NULL,
  ordinal           INTEGER NOT NULL,       -- position in the session (first appearance in upstream order)
  source            TEXT NOT NULL,          -- 'journal' or 'log'
  state             TEXT NOT NULL,          -- derived state: the latest event's name
  terminal          INTEGER NOT NULL,
  stream_id         TEXT,
  model             TEXT,
  model_provider    TEXT,
  workspace         TEXT,
  user_text         TEXT,
  assistant_text    TEXT,
  reason            TEXT,
  started_at        REAL,
  last_at           REAL,
  completed_at      REAL,
  to_worker_s       REAL,
  to_assistant_s    REAL,
  to_terminal_s     REAL,
  total_s           REAL,
  event_count       INTEGER NOT NULL,
  terminal_count    INTEGER NOT NULL,
  recovered_count   INTEGER NOT NULL,
  has_submitted     INTEGER NOT NULL,
  live              INTEGER NOT NULL,
  user_message_saved INTEGER NOT NULL,
  assistant_message_index INTEGER,
  feedback          INTEGER,                -- latest feedback: 1, -1 or 0 (NULL: none)
  feedback_note     TEXT,
  feedback_tags     TEXT,                   -- JSON array
  feedback_reviewer TEXT,
  feedback_at       TEXT,                   -- ISO-8601 UTC
  PRIMARY KEY (session_id, turn_id)
);
CREATE TABLE collisions (
  session_id  TEXT NOT NULL,
  turn_id     TEXT NOT NULL,
  ordinal     INTEGER NOT NULL,             -- 0-based, ascending created_at
  event       TEXT NOT NULL,
  shard       TEXT NOT NULL,
  line        INTEGER NOT NULL,
  offset      INTEGER NOT NULL,
  created_at  REAL,
  PRIMARY KEY (session_id, turn_id, ordinal)
);
CREATE TABLE malformed (
  session_id  TEXT,
  shard       TEXT NOT NULL,
  line        INTEGER NOT NULL,
  offset      INTEGER NOT NULL,
  length      INTEGER NOT NULL,
  kind        TEXT NOT NULL,                -- invalid_utf8 | not_json | not_object | too_long | not_a_record
  torn        INTEGER NOT NULL,
  glued       INTEGER NOT NULL,
  glued_event TEXT,
  detail      TEXT NOT NULL,
  preview     TEXT NOT NULL,                -- lossy, cut at 2 KiB: untrusted text
  PRIMARY KEY (shard, offset)
);
CREATE TABLE findings (
  session_id  TEXT,
  ordinal     INTEGER NOT NULL,             -- position in the session's sorted findings
  source      TEXT NOT NULL,                -- 'journal' | 'feedback' | 'log'
  kind        TEXT NOT NULL,
  severity    TEXT NOT NULL,
  turn_id     TEXT,
  shard       TEXT,
  line        INTEGER,
  offset      INTEGER,
  message     TEXT NOT NULL
);
CREATE TABLE feedback (
  file        TEXT NOT NULL,                -- _turn_feedback/<sid>.jsonl or the log file name
  line        INTEGER NOT NULL,
  id          TEXT,
  session_id  TEXT NOT NULL,
  turn_id     TEXT,                         -- NULL for a legacy session-level correction
  feedback    INTEGER NOT NULL,
  note        TEXT,
  tags        TEXT,                         -- JSON array
  reviewer    TEXT,
  timestamp   TEXT,
  latest      INTEGER NOT NULL,             -- 1: the record that wins for its (session, turn)
  raw         TEXT NOT NULL,
  PRIMARY KEY (file, line)
);
`;

/**
 * Indexes on `events`, created with the empty table: its rows arrive session by session, so
 * the index grows at a few nearby places in the B-tree that stay in the page cache, which
 * measured cheaper than creating it afterwards (that reads the whole table back through the
 * engine's VFS). `events_torn` holds at most one row per shard: the torn final line an
 * incremental rebuild replaces. (Schema 1 had an index on (shard, offset) for that, which
 * cost ~0.8 s of CPU per 1M events; a shard's events are found through its session.)
 * docs/sqlite.md, "Speed".
 */
export const EVENT_INDEXES = `
CREATE INDEX events_torn ON events(shard) WHERE torn = 1;
`;

/** The other indexes, created once their (much smaller) tables are filled. */
export const LATE_INDEXES = `
CREATE INDEX turns_by_state ON turns(state);
CREATE INDEX turns_by_started ON turns(started_at);
CREATE INDEX turns_by_model ON turns(model);
CREATE INDEX findings_by_session ON findings(session_id);
CREATE INDEX findings_by_kind ON findings(kind, severity);
CREATE INDEX feedback_by_turn ON feedback(session_id, turn_id);
`;

/** Every secondary index. */
export const INDEXES = EVENT_INDEXES + LATE_INDEXES;

/** Columns of every table (in DDL order), for tests that compare whole databases. */
export const ORDER_BY: Record<TableName, string> = {
  meta: 'key',
  sessions: 'session_id',
  shards: 'name',
  events: 'shard, offset',
  turns: 'session_id, turn_id',
  collisions: 'session_id, turn_id, ordinal',
  malformed: 'shard, offset',
  findings: 'session_id, ordinal, source',
  feedback: 'file, line',
  session_tail: 'session_id',
};
