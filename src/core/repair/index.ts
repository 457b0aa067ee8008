/** Audit repair: plan, apply, undo, repair log, backups, reviews (docs/repair.md). */
export * from './plan';
export * from './log';
export * from './io';
export * from './apply';
export * from './undo';
export * from './undoLocked';
export * from './review';
export * from './reviewed';
export * from './render';
export * from './sidecarEdit';
