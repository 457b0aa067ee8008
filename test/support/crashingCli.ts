/**
 * The CLI's `repair` and `undo` with a step hook injected (the crash tests): `node
 * crashingCli.js <N> repair|undo <args…>` kills itself with SIGKILL right after the Nth durable
 * write. The shipped CLI reads no environment variable for this.
 */
import { repairHooks, runRepair, runUndo } from '../../src/cli/repair';

const n = Number(process.argv[2]);
let count = 0;
if (Number.isInteger(n) && n > 0) {
  repairHooks.onStep = () => {
    if (++count === n) process.kill(process.pid, 'SIGKILL');
  };
}
const [command, ...rest] = process.argv.slice(3);
(command === 'undo' ? runUndo(rest) : runRepair(rest)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
