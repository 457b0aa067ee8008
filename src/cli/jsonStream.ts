/**
 * JSON output without one giant string: `JSON.stringify(value)` byte for byte, written in
 * chunks of about 1 MB. A report of millions of events otherwise fails with V8's "Invalid
 * string length" (issue 14 #10). Handles what reports hold: plain objects, arrays, strings,
 * numbers, booleans, null (undefined object members skipped, undefined in arrays → null,
 * toJSON honoured).
 */

const CHUNK = 1 << 20;

export function writeJsonStreamed(value: unknown, write: (s: string) => void): void {
  let buf = '';
  const emit = (s: string): void => {
    buf += s;
    if (buf.length >= CHUNK) {
      write(buf);
      buf = '';
    }
  };
  const walk = (v: unknown, inArray: boolean): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
    if (Array.isArray(v)) {
      emit('[');
      for (let i = 0; i < v.length; i++) {
        if (i) emit(',');
        walk(v[i], true);
      }
      emit(']');
    } else if (v !== null && typeof v === 'object') {
      emit('{');
      let first = true;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        if (!first) emit(',');
        first = false;
        emit(JSON.stringify(k) + ':');
        walk(x, false);
      }
      emit('}');
    } else {
      const s = JSON.stringify(v);
      emit(s === undefined ? (inArray ? 'null' : 'null') : s);
    }
  };
  walk(value, true);
  if (buf) write(buf);
}
