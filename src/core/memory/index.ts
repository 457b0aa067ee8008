/** The memory ledger audit (docs/memory-ledger.md): plain TypeScript, no `vscode`. */
export * from './config';
export * from './load';
export * from './replay';
export * from './compare';
export * from './retention';
export * from './audit';
