import { readFileSync } from "node:fs";
import { ToolboxError } from "@worker-toolbox/config";

/** The last `lines` lines of a log file, or "" when it does not exist yet. */
export function tailFile(path: string, lines = 25): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** A LOCAL_SERVER_FAILED error carrying the tails of the server's logs. */
export function serverFailed(
  message: string,
  options: { hint?: string; cause?: unknown; logs?: string[] } = {},
): ToolboxError {
  const tails = (options.logs ?? [])
    .map((path) => [path, tailFile(path)] as const)
    .filter(([, tail]) => tail !== "")
    .map(([path, tail]) => `\n--- last lines of ${path} ---\n${tail}`)
    .join("");
  return new ToolboxError("LOCAL_SERVER_FAILED", `${message}${tails}`, {
    cause: options.cause,
    hint: options.hint,
  });
}
