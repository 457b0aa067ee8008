/**
 * This process's own peak resident set size, in bytes: Linux's `VmHWM` (reset when the program
 * started). Not `process.resourceUsage().maxRSS` alone: Linux carries that over from the parent
 * across fork and exec, so a child of a large process reports at least the parent's peak.
 * Elsewhere (no /proc): `maxRSS`.
 */

import * as fs from 'fs';

export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
