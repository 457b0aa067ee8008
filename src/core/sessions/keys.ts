/** The key of a session in the index's maps: root id and session id, NUL-separated. */
export function key(rootId: string, sessionId: string): string {
  return `${rootId}\0${sessionId}`;
}

/** Deletes every key of a root from a map. */
export function deleteRoot(map: Map<string, unknown>, rootId: string): void {
  for (const k of [...map.keys()]) if (k.startsWith(rootId + '\0')) map.delete(k);
}
