/**
 * Durable writes for files the auditor owns: kept as the historical import path; every rule
 * lives in core/fsSafe.ts (the one module that touches the file system for writing).
 */

export { ShortWriteError, appendLineDurable, appendLinesDurable, appendRawLinesDurable, atomicReplace, fsyncDir, type AtomicOptions } from './fsSafe';
