import type { ToolboxConfig } from "@worker-toolbox/config";
import type pg from "pg";
import type { CommandContext, GlobalOptions } from "./context.js";

/** Run a command with a small pool on the configured database, ended afterwards whatever happens. */
export async function withPool(
  ctx: CommandContext,
  argv: GlobalOptions,
  run: (pool: pg.Pool, config: ToolboxConfig) => Promise<void>,
): Promise<void> {
  const config = ctx.loadConfig(argv, { uses: ["database"] });
  // Imported here, not at the top: a command's --help loads this file but needs no pg (commands/index.ts).
  const { createDatabasePool } = await import("@worker-toolbox/runtime/results");
  // Two reads at once at most (a task's detail reads its rows in parallel).
  const pool = createDatabasePool(config, { max: 3 });
  try {
    await run(pool, config);
  } finally {
    await pool.end();
  }
}
