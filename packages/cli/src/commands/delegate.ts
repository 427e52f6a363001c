import { spawn } from "node:child_process";
import { ToolboxError } from "@worker-toolbox/config";
import type { CommandContext } from "../context.js";

/**
 * Set for the CLI a hand-off runs, to the version it was asked for. That CLI never hands off again: with the
 * marker set, a command for another version than the running CLI's is refused (handOffRefusal), never run by
 * the wrong CLI — the marker leaked into a shell or CI environment, or npm ran another CLI than asked.
 */
export const HANDOFF_MARKER = "WORKER_TOOLBOX_DELEGATED";

/**
 * Why `<command> --to <to>` must not run here, with `own` the running CLI's version, or undefined when it may
 * be handed off (no marker set).
 */
export function handOffRefusal(
  env: Record<string, string | undefined>,
  command: string,
  to: string,
  own: string,
): ToolboxError | undefined {
  const marker = env[HANDOFF_MARKER];
  if (!marker) return undefined;
  const what = `worker-toolbox ${command} --to ${to} needs the ${to} CLI (this one is ${own})`;
  if (marker === to) {
    return new ToolboxError(
      "GENERATOR_HANDOFF_REFUSED",
      `${what}: it was handed to npm exec --package @worker-toolbox/cli@${to}, but npm ran this CLI instead; nothing was written.`,
      {
        hint: `check that the registry npm is configured with has it (npm view @worker-toolbox/cli@${to} version), then run the command again`,
      },
    );
  }
  return new ToolboxError(
    "GENERATOR_HANDOFF_REFUSED",
    `${what}, but ${HANDOFF_MARKER}=${marker} is set, which marks a CLI that a hand-off already started, so it cannot hand the command over; nothing was written.`,
    {
      hint: `unset ${HANDOFF_MARKER} (it leaked from a shell or CI environment; only the toolbox sets it, for the CLI it hands off to) and run the command again`,
    },
  );
}

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
      env: { ...process.env, ...ctx.io.env, [HANDOFF_MARKER]: version },
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
