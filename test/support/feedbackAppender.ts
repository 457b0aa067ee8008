/**
 * Worker for the concurrent-append test: `node feedbackAppender.js <sessionsDir> <sid> <worker> <count>`
 * appends <count> feedback records (turns t0..t9, notes "w<worker>-<i>") as fast as it can.
 */
import { appendFeedback } from '../../src/core/feedback/store';

const [dir, sid, worker, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  appendFeedback(dir, {
    sessionId: sid,
    turnId: `t${i % 10}`,
    feedback: i % 3 === 0 ? -1 : 1,
    note: `w${worker}-${i}`,
    tags: [`w${worker}`],
    reviewer: `worker ${worker}`,
  });
}
