import * as assert from 'assert';
import { api } from './util';

describe('Time to rows (startup)', () => {
  it("logs the time from activate() to the Sessions view's rows, beside the extension host's own start (logged, not asserted)", async () => {
    const a = await api();
    await a.startup.rows;
    const t = a.startup;
    console.log(
      `      [time to rows] extension host running ${t.hostUptimeAtActivateMs} ms before activate(); ` +
        `tree provider registered +${t.treeRegisteredMs} ms; activate() returned +${t.activatedMs} ms; ` +
        `rows (${t.sessions} sessions) +${t.rowsMs} ms`,
    );
    // Order, not duration: the tree is registered first thing, and rows follow activate() (read in the background).
    assert.ok(t.treeRegisteredMs! <= t.activatedMs! && t.activatedMs! <= t.rowsMs!, JSON.stringify(t));
    assert.ok(t.sessions! > 0, 'the test workspace has sessions (demo/sessions)');
    const roots = await a.sessions.tree.getChildren();
    assert.ok(roots.length > 0);
    assert.ok((await a.sessions.tree.getChildren(roots[0])).length > 0, 'the first root has rows');
  });
});
