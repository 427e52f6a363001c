import { relative } from "node:path";
import { describeError, isToolboxError } from "@worker-toolbox/config";
import type { CommandContext } from "../context.js";
import type { FileChange, FileFailure } from "./fsPlan.js";

/**
 * Run a generator command: invalid input and a non-empty target are usage problems (exit 2), printed
 * as text, or as `{ "error": … }` on stdout with --json so scripts can read them.
 */
export async function runGeneratorCommand(
  ctx: CommandContext,
  json: boolean | undefined,
  run: () => void | Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!isToolboxError(error) || !error.code.startsWith("GENERATOR_")) throw error;
    if (json)
      ctx.print(
        JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint } }, null, 2),
      );
    ctx.warn(describeError(error));
    ctx.fail(2);
  }
}

/** Prompts only on a terminal, never with --json or in CI. */
export function canPrompt(ctx: CommandContext, json: boolean | undefined): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && !json && ctx.io.env.CI !== "true");
}

/** `create  src/worker.ts` lines; unchanged files are left out of the human listing. */
export function changeLines(changes: readonly FileChange[], dryRun: boolean): string[] {
  const verb = (action: FileChange["action"]) => (dryRun ? `would ${action}` : action);
  return changes
    .filter((change) => change.action !== "skip")
    .map((change) => `  ${verb(change.action).padEnd(16)}${change.path}`);
}

export function reportFailures(ctx: CommandContext, failures: readonly FileFailure[]): void {
  for (const failure of failures) ctx.warn(`error writing ${failure.path}: ${failure.error}`);
  if (failures.length > 0) ctx.fail(1);
}

/** A directory as the user would type it after `cd`: relative when below the working directory, quoted when needed. */
export function shellPath(dir: string, cwd = process.cwd()): string {
  const rel = relative(cwd, dir);
  const path = rel && !rel.startsWith("..") ? rel : dir;
  return /^[\w./@:-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}
