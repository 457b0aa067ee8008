/** Every command id in one place (package.json `contributes.commands` must match: see scripts/check-commands.mjs). */
export const Commands = {
  refresh: 'botMemory.refresh',
  filter: 'botMemory.filter',
  sort: 'botMemory.sort',
  openTimeline: 'botMemory.openTimeline',
  openTimelineAsText: 'botMemory.timeline.openAsText',
  openRawShard: 'botMemory.openRawShard',
  revealInExplorer: 'botMemory.revealInExplorer',
  copySessionId: 'botMemory.copySessionId',
  copyTurnId: 'botMemory.copyTurnId',
  addSessionsFolder: 'botMemory.addSessionsFolder',
  openDemo: 'botMemory.openDemo',
  focusAttention: 'botMemory.showSessionsNeedingAttention',
  memoryAddDatabase: 'botMemory.memory.addDatabase',
  memoryExportProjection: 'botMemory.memory.exportProjection',
  memoryRefresh: 'botMemory.memory.refresh',
  rebuildIndex: 'botMemory.rebuildIndex',
  rebuildIndexFromLog: 'botMemory.rebuildIndexFromLog',
  openIndex: 'botMemory.openIndex',
  queryIndex: 'botMemory.queryIndex',
  openQueryRow: 'botMemory.openQueryRow',
  pushGithub: 'botMemory.pushGithub',
  pullGithub: 'botMemory.pullGithub',
  setGithubToken: 'botMemory.setGithubToken',
  giveFeedback: 'botMemory.giveFeedback',
  thumbsUp: 'botMemory.feedback.thumbsUp',
  thumbsDown: 'botMemory.feedback.thumbsDown',
  clearFeedback: 'botMemory.feedback.clear',
  addNote: 'botMemory.feedback.addNote',
  writeCorrection: 'botMemory.feedback.writeCorrection',
  compareAnswers: 'botMemory.compareAnswers',
  preferLeftAnswer: 'botMemory.compare.preferLeft',
  preferRightAnswer: 'botMemory.compare.preferRight',
  nextUnreviewed: 'botMemory.nextUnreviewedTurn',
  exportTrainingData: 'botMemory.exportTrainingData',
  auditSessions: 'botMemory.auditSessions',
  repairSession: 'botMemory.repairSession',
  repairAll: 'botMemory.repairAll',
  undoRepair: 'botMemory.undoRepair',
  makeReadable: 'botMemory.makeReadable',
  markCollisionReviewed: 'botMemory.markCollisionReviewed',
} as const;

/** Commands not contributed in package.json (tests call them). */
export const InternalCommands = {
  /** Asks an open timeline what its webview rendered. */
  timelineQuery: '_botMemory.timeline.query',
} as const;

export const VIEW_SESSIONS = 'botMemory.sessions';
export const VIEW_MEMORIES = 'botMemory.memories';
export const TIMELINE_VIEW_TYPE = 'botMemory.timeline';
