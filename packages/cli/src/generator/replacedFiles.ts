import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import type { FileChange } from "./fsPlan.js";

/**
 * A managed file a later template replaced by a package export (template.json `replaced`): the copied
 * test helper `test/support/taskContext.ts` became `@worker-toolbox/testing`'s kit. When `upgrade` removes
 * the file, the service's own files under `importers` that import it are moved to `by`.
 */
export interface ReplacedFile {
  path: string;
  /** The module that replaces it, e.g. `@worker-toolbox/testing`. */
  by: string;
  /** The directory whose files may import it, e.g. `test`. */
  importers: string;
}

const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']+)\2/g;
const withoutExtension = (path: string) => path.replace(SOURCE, "");

/** Rewrites of the files under `importers` that import `replaced.path`, as upgrade changes. */
export function replacedImports(dir: string, replaced: ReplacedFile): FileChange[] {
  const target = withoutExtension(replaced.path);
  const changes: FileChange[] = [];
  for (const path of sourceFiles(dir, replaced.importers)) {
    const text = readFileSync(join(dir, path), "utf8");
    const from = posix.dirname(path);
    const moved = text.replace(SPECIFIER, (whole, head: string, quote: string, specifier: string) =>
      withoutExtension(posix.join(from, specifier)) === target
        ? `${head}${quote}${replaced.by}${quote}`
        : whole,
    );
    if (moved !== text) changes.push({ path, action: "overwrite", content: moved });
  }
  return changes;
}

/** Source files below `dir/under`, relative to `dir` with `/`, node_modules left out. */
function sourceFiles(dir: string, under: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      if (entry === "node_modules") continue;
      const full = join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (SOURCE.test(entry)) out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  if (existsSync(join(dir, under))) walk(join(dir, under));
  return out.sort();
}
