import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { loadOpsRuntime } from "../opsRuntime.js";

/** The options `inspect` and `control` share: whom to ask, how long to wait, how to print. */
export type AskArgs = GlobalOptions & { destination?: string[]; timeout: number; json: boolean };

export function askOptions<T>(yargs: Argv<T>) {
  return yargs
    .option("destination", {
      type: "string",
      array: true,
      requiresArg: true,
      describe: "Only these node names (repeatable); replies come back as soon as all have answered",
    })
    .option("timeout", {
      type: "number",
      default: 1_000,
      describe: "Milliseconds to wait for replies (as Celery's --timeout, which is in seconds)",
    })
    .option("json", { type: "boolean", default: false, describe: "Print the replies as JSON by node" });
}

/**
 * Send one remote-control command to the environment's workers (all, or `--destination`) and collect their
 * replies by node name, as `celery inspect` / `celery control` do; the broker connection is the command's own.
 */
export async function askWorkers(
  ctx: CommandContext,
  argv: AskArgs,
  method: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const config = ctx.loadConfig(argv, { uses: ["broker"] });
  const { broadcastCommand, connectOnce } = await loadOpsRuntime();
  const connection = await connectOnce(config);
  try {
    return await broadcastCommand(connection, config.environment.prefix, method, args, {
      destination: argv.destination,
      timeoutMs: argv.timeout,
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
}
