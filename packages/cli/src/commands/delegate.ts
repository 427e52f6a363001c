import { spawn } from "node:child_process";
import type { CommandContext } from "../context.js";

/**
 * Run a command with another version of the CLI, fetched by npm from the configured registry:
 * `npm exec --package @worker-toolbox/cli@<version> -- worker-toolbox <args>`. Its output is passed
 * through and its exit code becomes this command's.
 */
export function delegateToVersion(
  ctx: CommandContext,
  version: string,
  args: readonly string[],
): Promise<void> {
  const npmArgs = [
    "exec",
    "--yes",
    `--package=@worker-toolbox/cli@${version}`,
    "--",
    "worker-toolbox",
    ...args,
  ];
  ctx.warn(
    `worker-toolbox ${args[0]} --to ${version}: running that version's CLI (npm ${npmArgs.join(" ")})`,
  );
  return new Promise((resolve) => {
    const child = spawn("npm", npmArgs, {
      env: { ...process.env, ...ctx.io.env, WORKER_TOOLBOX_DELEGATED: "1" },
      stdio: ["inherit", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => ctx.io.stdout(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => ctx.io.stderr(chunk.toString()));
    child.on("error", (error) => {
      ctx.warn(`error: could not run npm: ${error.message}`);
      ctx.fail(1);
      resolve();
    });
    child.on("close", (code) => {
      if (code !== 0) ctx.fail(code === 2 ? 2 : 1);
      resolve();
    });
  });
}
