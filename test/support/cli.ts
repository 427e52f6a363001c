import { type CliIo, runCli } from "@worker-toolbox/cli";

/**
 * Run one `worker-toolbox` command line in-process with `env` as its whole environment; capture its output.
 * `io` can claim a terminal (`stdoutIsTTY`) to see what a person sees.
 */
export async function runCliCaptured(
  argv: string[],
  env: Record<string, string | undefined> = {},
  io: Pick<CliIo, "stdoutIsTTY" | "stderrIsTTY"> = {},
) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env,
    ...io,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}
