/**
 * Small, dependency-free formatters shared by the timeline view-model (Node) and the
 * timeline webview (browser). No `vscode`, no DOM, no Node built-ins.
 */

/** "+0 s", "+0.2 s", "+14.3 s", "+2 min 5 s", "+3 h 2 min"; null → "". */
export function formatOffset(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const sign = seconds < 0 ? '−' : '+';
  return `${sign}${formatDuration(Math.abs(seconds))}`;
}

/** A duration in seconds, in words a person reads at a glance. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.abs(seconds);
  if (s < 0.05) return '0 s';
  if (s < 59.95) return `${trimZero(s.toFixed(1))} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = Math.round(s - m * 60);
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  if (s < 48 * 3600) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s - h * 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  return `${Math.round(s / 86400)} days`;
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${trimZero((n / 1024).toFixed(1))} KB`;
  if (n < 1024 * 1024 * 1024) return `${trimZero((n / (1024 * 1024)).toFixed(1))} MB`;
  return `${trimZero((n / (1024 * 1024 * 1024)).toFixed(2))} GB`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Epoch seconds → "2026-01-01 13:45:10" in the local time zone (or UTC when asked). */
export function formatTimestamp(epochSeconds: number | null, utc = false): string {
  if (epochSeconds === null || !Number.isFinite(epochSeconds)) return 'unknown time';
  const d = new Date(epochSeconds * 1000);
  if (Number.isNaN(d.getTime())) return 'unknown time';
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const da = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const mi = utc ? d.getUTCMinutes() : d.getMinutes();
  const se = utc ? d.getUTCSeconds() : d.getSeconds();
  return `${y}-${pad(mo + 1)}-${pad(da)} ${pad(h)}:${pad(mi)}:${pad(se)}`;
}

/** Epoch seconds → "13:45:10" (local). */
export function formatClock(epochSeconds: number | null): string {
  const full = formatTimestamp(epochSeconds);
  return full === 'unknown time' ? full : full.slice(11);
}

/** Short label of a lifecycle event for chips. Unknown names are shown as they are. */
export function stepLabel(name: string): string {
  switch (name) {
    case 'submitted':
      return 'submitted';
    case 'worker_started':
      return 'worker';
    case 'assistant_started':
      return 'assistant';
    case 'completed':
      return 'completed';
    case 'interrupted':
      return 'interrupted';
    case '':
      return '(no event name)';
    default:
      return name;
  }
}
