/** The saved queries of docs/sqlite.md ("Queries for common audit questions"), offered by "Query Index…". */

export interface SavedQuery {
  label: string;
  sql: string;
}

export const SAVED_QUERIES: readonly SavedQuery[] = [
  {
    label: 'Which sessions need attention, worst first?',
    sql: `SELECT session_id, title, errors, warnings, open_turn_count FROM sessions
WHERE errors + warnings > 0 ORDER BY errors DESC, warnings DESC`,
  },
  {
    label: 'Turns that never finished (open), oldest first',
    sql: `SELECT session_id, turn_id, state, datetime(last_at, 'unixepoch') AS last_event
FROM turns WHERE terminal = 0 ORDER BY last_at`,
  },
  {
    label: 'Why were turns interrupted, per model?',
    sql: `SELECT model, reason, count(*) AS n FROM turns
WHERE state = 'interrupted' GROUP BY model, reason ORDER BY n DESC`,
  },
  {
    label: 'Terminal collisions: a turn both completed and interrupted',
    sql: `SELECT session_id, turn_id, group_concat(event || ' @ ' || shard || ':' || line, ', ') AS terminals
FROM collisions GROUP BY session_id, turn_id`,
  },
  {
    label: 'Slowest turns (submitted to terminal), last 7 days',
    sql: `SELECT session_id, turn_id, model, round(total_s, 1) AS seconds FROM turns
WHERE started_at > unixepoch('now', '-7 days') AND total_s IS NOT NULL
ORDER BY total_s DESC LIMIT 20`,
  },
  { label: 'Malformed lines and where they are', sql: 'SELECT shard, line, kind, detail FROM malformed ORDER BY shard, line' },
  {
    label: 'Negative feedback with the conversation',
    sql: `SELECT t.session_id, t.turn_id, t.user_text, t.assistant_text, t.feedback_note, t.feedback_reviewer
FROM turns t WHERE t.feedback = -1`,
  },
  {
    label: 'Daily turn volume and completion rate per model',
    sql: `SELECT date(started_at, 'unixepoch') AS day, model, count(*) AS turns,
       round(100.0 * sum(state = 'completed') / count(*), 1) AS completed_pct
FROM turns GROUP BY day, model ORDER BY day DESC`,
  },
];
