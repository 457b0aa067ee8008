/**
 * `bot-memory-audit rebuild` with test hooks, for tests that kill a rebuild at a known point:
 *   node out/test/support/rebuildChild.js [--pause-at <checkpoint>[:<n>]] [--cache-size <pages>] -- <rebuild args…>
 * --pause-at stops the process with SIGSTOP the n-th time it reaches that checkpoint;
 * --cache-size sets the page cache of an in-place rebuild (a tiny one makes SQLite write into
 * the index before its commit). The shipped CLI has neither. This bundle is its own rebuild worker.
 */
import { runRebuild } from '../../src/cli/rebuild';
import { runRebuildWorkerIfWorker } from '../../src/core/sqlite/parallelRows';

function pauseAt(spec: string): (name: string) => void {
  const [name, nth] = spec.split(':');
  let seen = 0;
  const want = Number(nth ?? 1);
  return (n) => {
    if (n !== name) return;
    if (++seen === want) process.kill(process.pid, 'SIGSTOP');
  };
}

if (!runRebuildWorkerIfWorker() && require.main === module) {
  const args = process.argv.slice(2);
  const end = args.indexOf('--');
  const own = end < 0 ? [] : args.slice(0, end);
  const rest = end < 0 ? args : args.slice(end + 1);
  const opt = (name: string): string | undefined => (own.includes(name) ? own[own.indexOf(name) + 1] : undefined);
  const pause = opt('--pause-at');
  const cache = opt('--cache-size');
  runRebuild(rest, { checkpoint: pause ? pauseAt(pause) : undefined, cacheSize: cache ? Number(cache) : undefined }).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`rebuildChild: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
