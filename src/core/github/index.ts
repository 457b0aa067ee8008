/** The GitHub interaction log: records, client, outbox + ledger, push and pull (docs/github-log.md). */
export * from './records';
export * from './client';
export * from './outbox';
export * from './remote';
export * from './push';
export * from './pull';
