import { runCli } from "./cli.js";

/** The `--help` output of one command (`[]` for the top level), exactly as a user sees it. */
export async function helpText(command: readonly string[]): Promise<string> {
  let text = "";
  const code = await runCli([...command, "--help"], {
    stdout: (chunk) => {
      text += chunk;
    },
    stderr: (chunk) => {
      text += chunk;
    },
    env: {},
  });
  if (code !== 0) throw new Error(`worker-toolbox ${command.join(" ")} --help exited ${code}: ${text}`);
  return text.trimEnd();
}

/**
 * Every command path (`["config"]`, `["config", "check"]`, …), found by reading the "Commands:" section
 * of each help text, so groups added to the registry are listed without further wiring.
 */
export async function commandPaths(parent: readonly string[] = []): Promise<string[][]> {
  const help = await helpText(parent);
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? "";
  const paths: string[][] = [];
  for (const line of section.split("\n")) {
    const words = /^ {2}worker-toolbox ((?:[a-z][\w-]* )*[a-z][\w-]*)/.exec(line)?.[1]?.split(" ");
    if (!words) continue;
    const path = words.filter((word) => !word.startsWith("<") && !word.startsWith("["));
    if (path.length <= parent.length) continue;
    paths.push(path, ...(await commandPaths(path)));
  }
  return paths;
}
