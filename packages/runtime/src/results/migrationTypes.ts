/** One append-only schema change, from `packages/runtime/sql/<version>.sql`. */
export interface Migration {
  /** 1, 2, 3, ... from the file name `000001.sql`. */
  version: number;
  /** From the file's `-- name:` line. */
  name: string;
  sql: string;
}
