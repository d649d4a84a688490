/**
 * Key rotation for everything the secret box sealed (`obiente secrets rotate`): every value not
 * sealed under the current master key is decrypted (with the current key or one of
 * SECRETS_MASTER_KEY_PREVIOUS) and sealed again under the current one, in batches, one
 * transaction per batch, the batch's rows locked while they are rewritten. Idempotent: a value
 * already under the current key is not touched, so a second run changes nothing, and a run cut
 * short is finished by the next. A value no key opens is reported, left as it is, and does not
 * stop the others.
 */
import type { SecretBox } from "../crypto/index.js";
import type { Db, Tx } from "../store/index.js";

/** One sealed value, where it is (its row's primary key), and what it is bound to (its AAD). */
export interface SealedValue<Position> {
  position: Position;
  sealed: string;
  aad: string;
}

/** A column of sealed values: how to read it in primary-key order, and write one value back. */
export interface SealedColumn<Position = unknown> {
  /** "table.column", for the report. */
  readonly name: string;
  /**
   * Up to `limit` values after `after` in primary-key order (from the start without it), not
   * sealed under `currentKeyId`, their rows locked for update.
   */
  batch(
    tx: Tx,
    after: Position | undefined,
    limit: number,
    currentKeyId: string,
  ): Promise<SealedValue<Position>[]>;
  write(tx: Tx, position: Position, sealed: string): Promise<void>;
  /** How many values are not sealed under `currentKeyId` (for a dry run and the report). */
  countStale(db: Db, currentKeyId: string): Promise<number>;
  /** The row, for a person: "deployment <id>, env var API_KEY". */
  describe(position: Position): string;
}

export interface ColumnReport {
  column: string;
  resealed: number;
  failed: { row: string; reason: string }[];
}

export interface RotateOptions {
  batchSize?: number;
  /** Count what would be resealed, change nothing. */
  dryRun?: boolean;
  /** After each batch. */
  onBatch?: (column: string, resealed: number) => void;
}

export async function rotateSecrets(
  db: Db,
  box: SecretBox,
  columns: readonly SealedColumn[],
  options: RotateOptions = {},
): Promise<ColumnReport[]> {
  const batchSize = options.batchSize ?? 500;
  const reports: ColumnReport[] = [];
  for (const column of columns) {
    const report: ColumnReport = { column: column.name, resealed: 0, failed: [] };
    reports.push(report);
    if (options.dryRun) {
      report.resealed = await column.countStale(db, box.keyId);
      continue;
    }
    let after: unknown;
    for (;;) {
      const { seen, last } = await db.transaction(async (tx) => {
        const values = await column.batch(tx, after, batchSize, box.keyId);
        let resealed = 0;
        for (const value of values) {
          let fresh: string | undefined;
          try {
            fresh = box.reseal(value.sealed, value.aad);
          } catch (error) {
            report.failed.push({ row: column.describe(value.position), reason: String(error) });
            continue;
          }
          if (fresh === undefined) continue;
          await column.write(tx, value.position, fresh);
          resealed += 1;
        }
        report.resealed += resealed;
        options.onBatch?.(column.name, resealed);
        return { seen: values.length, last: values.at(-1)?.position };
      });
      if (seen < batchSize) break;
      after = last;
    }
  }
  return reports;
}
