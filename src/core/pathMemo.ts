/**
 * A path function of (folder, session id) that gives back the same string when asked again with the same arguments right
 * after: while a session is summarized its few paths are asked for a dozen times (the stat hints are keyed by them), and
 * every fresh string costs a `path.join` and, as a Map key, a hash of its characters. Only the last call is kept; what the
 * function returns, or throws, is its own.
 */
export function lastCallMemo(fn: (dir: string, id: string) => string): (dir: string, id: string) => string {
  let lastDir: string | undefined;
  let lastId: string | undefined;
  let last = '';
  return (dir, id) => {
    if (dir !== lastDir || id !== lastId) {
      last = fn(dir, id);
      lastDir = dir;
      lastId = id;
    }
    return last;
  };
}
