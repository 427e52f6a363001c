import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * No import cycle inside a package's sources (type-only imports count too: a cycle of types is a cycle of
 * concerns). Relative imports are followed; `.js` specifiers map to the `.ts` files beside them.
 */
const PACKAGES = ["config", "runtime"];
const root = fileURLToPath(new URL("../../packages/", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$|testUtil\.ts$|\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}

/**
 * Static `import`/`export ... from` declarations (biome formats each to start a line) and side-effect
 * imports. TypeScript 7's package ships no compiler API, so the declarations are read by pattern; a line
 * inside a comment starts with ` *` and never matches.
 */
const DECLARATION = /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']/gm;

function importsOf(file: string): string[] {
  const specifiers = [...readFileSync(file, "utf8").matchAll(DECLARATION)].map((m) => (m[1] ?? m[2])!);
  return specifiers
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, ".ts")))
    .filter((path) => existsSync(path));
}

/** Every cycle's files, found by a depth-first search over the import graph. */
function cycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found;
}

describe("import cycles", () => {
  it.each(PACKAGES)("none in packages/%s/src", (name) => {
    const src = join(root, name, "src");
    const found = cycles(sources(src)).map((cycle) => cycle.map((file) => relative(src, file)).join(" > "));
    expect(found).toEqual([]);
  });
});
