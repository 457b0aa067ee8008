/**
 * Rows encoded for another thread (engine.ts `RowBatch`): a rebuild worker builds every
 * table's rows with the same code as the in-thread writer (writer.ts `RowBuilder`) and
 * encodes them here — strings as UTF-8 bytes with their lengths, numbers as doubles with a
 * type per value — so that the main thread only copies a batch into the WASM heap and
 * binds and steps (engine.ts `runBatch`), without encoding anything again.
 *
 * The types are the ones engine.ts `Statement.run` binds: a string is TEXT, a safe integer
 * INTEGER (32 or 64 bit), any other number REAL, a boolean 0/1, null/undefined NULL, a
 * Uint8Array a BLOB; lone surrogates become U+FFFD as there. So both paths store the same.
 */

import { V_BLOB, V_DOUBLE, V_INT, V_INT64, V_NULL, V_TEXT, type RowBatch, type SqlValue } from './engineTypes';
import { RowBuilder } from './writer';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** A batch is handed over once it holds this many rows or bytes of text (a few ms of inserts). */
const BATCH_ROWS = 4096;
const BATCH_BYTES = 1 << 20;

/** Node's unchecked UTF-8 writer behind `Buffer#write` (present in Node 20–24), else `write`. */
const utf8Write: (this: Buffer, s: string, offset: number) => number =
  typeof (Buffer.prototype as unknown as { utf8Write?: unknown }).utf8Write === 'function'
    ? (Buffer.prototype as unknown as { utf8Write: (this: Buffer, s: string, offset: number) => number }).utf8Write
    : function (this: Buffer, s: string, offset: number): number {
        return this.write(s, offset, 'utf8');
      };

export class RowEncoder extends RowBuilder {
  private table!: Uint8Array<ArrayBuffer>;
  private rows = 0;
  private types!: Uint8Array<ArrayBuffer>;
  private nums!: Float64Array<ArrayBuffer>;
  private values = 0;
  private bytes!: Buffer<ArrayBuffer>;
  private byteLength = 0;

  /** Buffers of batches the main thread has run and sent back, for the next batches. */
  private static readonly spare: RowBatch[] = [];

  /** `onBatch` gets every full batch; `flush()` hands over the rest. */
  constructor(private readonly onBatch: (b: RowBatch) => void) {
    super();
    this.newBuffers();
  }

  /** A batch whose rows were run: its buffers serve a later batch (no new allocation). */
  static recycle(b: RowBatch): void {
    if (RowEncoder.spare.length < 8 && b.table.length === BATCH_ROWS + 1 && b.types.length === BATCH_ROWS * 16 && b.bytes.byteLength === BATCH_BYTES * 2)
      RowEncoder.spare.push(b);
  }

  protected emit(table: number, values: (SqlValue | undefined)[]): void {
    if (this.rows === this.table.length) this.table = grow(this.table, this.table.length * 2);
    this.table[this.rows++] = table;
    if (this.values + values.length > this.types.length) {
      const n = Math.max(this.types.length * 2, this.values + values.length);
      this.types = grow(this.types, n);
      this.nums = grow(this.nums, n);
    }
    for (const v of values) {
      const i = this.values++;
      switch (typeof v) {
        case 'string': {
          this.reserveBytes(v.length * 3);
          const n = utf8Write.call(this.bytes, v, this.byteLength);
          this.byteLength += n;
          this.types[i] = V_TEXT;
          this.nums[i] = n;
          break;
        }
        case 'number':
          this.types[i] = Number.isSafeInteger(v) ? (v >= INT32_MIN && v <= INT32_MAX ? V_INT : V_INT64) : V_DOUBLE;
          this.nums[i] = v;
          break;
        case 'boolean':
          this.types[i] = V_INT;
          this.nums[i] = v ? 1 : 0;
          break;
        case 'bigint':
          // Not produced by the row builders; exact only within ±2^53.
          if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('RowEncoder: a bigint beyond ±2^53');
          this.types[i] = V_INT64;
          this.nums[i] = Number(v);
          break;
        default:
          if (v === null || v === undefined) {
            this.types[i] = V_NULL;
            this.nums[i] = 0;
          } else if (v instanceof Uint8Array) {
            this.reserveBytes(v.byteLength);
            this.bytes.set(v, this.byteLength);
            this.byteLength += v.byteLength;
            this.types[i] = V_BLOB;
            this.nums[i] = v.byteLength;
          } else throw new Error(`RowEncoder: cannot encode a ${typeof v}`);
      }
    }
    if (this.rows >= BATCH_ROWS || this.byteLength >= BATCH_BYTES) this.flush();
  }

  private reserveBytes(n: number): void {
    if (this.byteLength + n <= this.bytes.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.byteLength + n));
    this.bytes.copy(next, 0, 0, this.byteLength);
    this.bytes = next;
  }

  /** Hands the rows built so far (if any) to `onBatch`. */
  flush(): void {
    const b = this.take();
    if (b !== null) this.onBatch(b);
  }

  /** The rows built so far as a batch (null: none); new buffers are started (the old ones may be transferred). */
  take(): RowBatch | null {
    if (this.rows === 0) return null;
    const b: RowBatch = {
      table: this.table,
      rows: this.rows,
      types: this.types,
      nums: this.nums,
      values: this.values,
      bytes: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length),
      byteLength: this.byteLength,
    };
    this.newBuffers();
    this.rows = this.values = this.byteLength = 0;
    return b;
  }

  /** Done with this encoder (after `take()`): its empty buffers go to the spare ones. */
  release(): void {
    if (this.rows === 0) RowEncoder.recycle({ table: this.table, rows: 0, types: this.types, nums: this.nums, values: 0, bytes: this.bytes, byteLength: 0 });
  }

  /** Empty buffers for the next batch: a recycled batch's when there is one. */
  private newBuffers(): void {
    const spare = RowEncoder.spare.pop();
    if (spare !== undefined) {
      this.table = spare.table as Uint8Array<ArrayBuffer>;
      this.types = spare.types as Uint8Array<ArrayBuffer>;
      this.nums = spare.nums as Float64Array<ArrayBuffer>;
      this.bytes = Buffer.from(spare.bytes.buffer as ArrayBuffer, spare.bytes.byteOffset, spare.bytes.byteLength);
    } else {
      this.table = new Uint8Array(BATCH_ROWS + 1);
      this.types = new Uint8Array(BATCH_ROWS * 16);
      this.nums = new Float64Array(BATCH_ROWS * 16);
      this.bytes = Buffer.allocUnsafeSlow(BATCH_BYTES * 2);
    }
  }
}

/** The ArrayBuffers of a batch, for `postMessage`'s transfer list. */
export function batchTransfer(b: RowBatch): ArrayBuffer[] {
  return [b.table.buffer, b.types.buffer, b.nums.buffer, b.bytes.buffer] as ArrayBuffer[];
}

function grow<A extends Uint8Array | Float64Array>(a: A, n: number): A {
  const next = new (a.constructor as { new (n: number): A })(n);
  next.set(a);
  return next;
}
