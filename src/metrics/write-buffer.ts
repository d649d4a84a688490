/**
 * Rows waiting to be written, oldest first, at most `maxRows`: while the metrics database is
 * down, new rows keep coming and the oldest are dropped (counted) so that memory stays bounded.
 * Rows leave only once written, so a failed write loses nothing that is still inside the bound.
 */
export class WriteBuffer<T> {
  private rows: T[] = [];
  /** Index of the oldest row still buffered: rows before it are written or dropped. */
  private head = 0;
  /** How many rows came before `rows[0]`, since the buffer was made. */
  private base = 0;
  private droppedRows = 0;

  constructor(readonly maxRows: number) {
    if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
      throw new RangeError("maxRows must be a positive integer");
    }
  }

  get size(): number {
    return this.rows.length - this.head;
  }

  /** Rows dropped so far because the buffer was full. */
  get dropped(): number {
    return this.droppedRows;
  }

  /** Appends rows; returns how many old rows this dropped. */
  push(rows: readonly T[]): number {
    for (const row of rows) this.rows.push(row);
    const overflow = Math.max(0, this.size - this.maxRows);
    this.head += overflow;
    this.droppedRows += overflow;
    this.compact();
    return overflow;
  }

  /**
   * The oldest `count` rows, left in the buffer until `release(end)` says they are written. `end`
   * is a position that stays right even if rows are pushed or dropped in the meantime.
   */
  peek(count: number): { rows: T[]; end: number } {
    const rows = this.rows.slice(this.head, this.head + count);
    return { rows, end: this.base + this.head + rows.length };
  }

  /** Removes the rows before position `end` (from `peek`): a write has stored them. */
  release(end: number): void {
    this.head = Math.min(this.rows.length, Math.max(this.head, end - this.base));
    this.compact();
  }

  /** A copy of every buffered row, oldest first. */
  snapshot(): T[] {
    return this.rows.slice(this.head);
  }

  private compact(): void {
    if (this.head === this.rows.length || (this.head > 1024 && this.head * 2 > this.rows.length)) {
      this.rows = this.rows.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
