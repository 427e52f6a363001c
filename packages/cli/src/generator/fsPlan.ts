import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** One planned file operation, as `generate`, `add task` and `upgrade` report it. */
export interface FileChange {
  path: string;
  action: "create" | "overwrite" | "skip" | "delete";
  content: string;
}

export interface FileFailure {
  path: string;
  error: string;
}

export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** The action that brings `dir/path` to `content`: skip when it already has it. */
export function planWrite(dir: string, path: string, content: string): FileChange {
  const current = readIfExists(join(dir, path));
  const action = current === undefined ? "create" : current === content ? "skip" : "overwrite";
  return { path, action, content };
}

/** Apply changes, collecting failures per file instead of stopping at the first (plop's `{ changes, failures }`). */
export function applyChanges(dir: string, changes: readonly FileChange[]): FileFailure[] {
  const failures: FileFailure[] = [];
  for (const change of changes) {
    const file = join(dir, change.path);
    try {
      if (change.action === "delete") rmSync(file, { force: true });
      else if (change.action !== "skip") {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, change.content);
      }
    } catch (error) {
      failures.push({ path: change.path, error: (error as Error).message });
    }
  }
  return failures;
}
