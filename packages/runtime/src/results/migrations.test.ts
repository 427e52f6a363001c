import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "./migrations.js";

const SQL_DIR = fileURLToPath(new URL("../../sql/", import.meta.url));

/** Render migrations.ts from sql/*.sql: the module must equal this, or the test fails as stale. */
function renderMigrationsModule(): string {
  const files = readdirSync(SQL_DIR)
    .filter((f) => /^\d{6}\.sql$/.test(f))
    .sort();
  const entries = files.map((file) => {
    const sql = readFileSync(`${SQL_DIR}${file}`, "utf8");
    const name = /^-- name: (.+)$/m.exec(sql)?.[1]?.trim();
    if (!name) throw new Error(`${file} must start with a "-- name: <what it does>" line`);
    const escaped = sql.replaceAll("\\", "\\\\").replaceAll("`", "\\`").replaceAll("${", "\\${");
    return `  {\n    version: ${Number(file.slice(0, 6))},\n    name: ${JSON.stringify(name)},\n    sql: \`${escaped}\`,\n  },`;
  });
  return [
    "// GENERATED from packages/runtime/sql/*.sql by migrations.test.ts. Do not edit by hand:",
    "// change or add a sql/NNNNNN.sql file, then run",
    "//   npx vitest run --project unit packages/runtime/src/results/migrations.test.ts -u",
    "// Bundled as a module (not read from disk at runtime) so workers bundled with esbuild or",
    "// similar still carry their migrations; the test keeps it identical to the files.",
    'import type { Migration } from "./migrationTypes.js";',
    "",
    "export const MIGRATIONS: readonly Migration[] = [",
    ...entries,
    "];",
    "",
  ].join("\n");
}

describe("migrations", () => {
  it("migrations.ts matches packages/runtime/sql (fails when stale)", async () => {
    await expect(renderMigrationsModule()).toMatchFileSnapshot("./migrations.ts");
  });

  it("are numbered 1..n without gaps, so the ledger's max version means 'all up to here'", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});
