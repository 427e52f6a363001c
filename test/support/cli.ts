import { runCli } from "@worker-toolbox/cli";

/** Run one `worker-toolbox` command line in-process with `env` as its whole environment; capture its output. */
export async function runCliCaptured(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}
