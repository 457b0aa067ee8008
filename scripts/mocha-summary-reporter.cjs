// Mocha reporter for the unit tests (.mocharc.json): mocha's "spec" output, then one closing
// line `N passed, N failed` (`, N skipped` when tests were skipped) alone on a line, which
// scripts/test-all.mjs and CI read.
'use strict';
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithSummary extends Spec {
  constructor(runner, options) {
    super(runner, options);
    // Registered after Spec's own run-end handler, so this prints after its epilogue.
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || this.stats;
      const skipped = s.pending > 0 ? `, ${s.pending} skipped` : '';
      Mocha.reporters.Base.consoleLog(`${s.passes} passed, ${s.failures} failed${skipped}`);
    });
  }
}

module.exports = SpecWithSummary;
