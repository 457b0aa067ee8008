/** The journal core's public surface: plain TypeScript, no `vscode`. */
export * from './types';
export * from './sessionId';
export * from './jsonLine';
export * from './shardReader';
export * from './discovery';
export * from './sidecar';
export * from './derive';
export * from './analyze';
export * from './session';
export * from './audit';
export * from './durable';
export * from './events';
export * from './sessionIndex';
export * from './dirWatcher';
export * from './repair';
