/**
 * The timeline of one large session in a fresh process (bench/large.ts): the editor's host
 * pipeline (SessionIndex.analyze cold and warm, TimelineIndex, the first messages) and the first
 * render in the real webview bundle, in headless chromium. Its peak RSS is the host's (chromium
 * is another process). Job: {sessionsDir, openedShard, sessionId, bundle}.
 */
import { workerMain } from './fork';
import { launchBenchBrowser, measureTimeline, type TimelineSession } from './timeline';

workerMain<TimelineSession & { bundle: string }>(async (job) => {
  const { browser, close } = await launchBenchBrowser();
  try {
    return { row: await measureTimeline(browser, job.bundle, job, { allRows: false }) };
  } finally {
    await close();
  }
});
