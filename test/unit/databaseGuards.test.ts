import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * A pg pool or client whose connection fails outside a query emits `error`; with no listener Node throws it
 * and the process dies (a worker, the dashboard, a CLI command, a test run). One module opens them with a
 * listener (packages/runtime/src/results/poolErrors.ts: `guardedPool`, `guardedClient`, `guardPool` for a
 * pool passed in); tests use test/support/database.ts on top of it. This fails when any source or test file
 * of the product constructs a pg Pool or Client another way.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OWNER = "packages/runtime/src/results/poolErrors.ts";
const SELF = "test/unit/databaseGuards.test.ts";
const CONSTRUCTS = /new\s+(pg\.)?(Pool|Client)\s*\(|\bpg\.(Pool|Client)\s*\(/;
/** pg's only; amqplib and others have their own Pool/Client names elsewhere: only files that import pg count. */
const IMPORTS_PG = /from\s+"pg"/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name === "tmp") return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx|mts)$/.test(entry.name) ? [path] : [];
  });
}

function offenders(text: string, file: string): string[] {
  if (!IMPORTS_PG.test(text)) return [];
  return text
    .split("\n")
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => CONSTRUCTS.test(line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "")))
    .map(({ line, i }) => `${file}:${i + 1}: ${line.trim()}`);
}

describe("every pg pool and client has an error listener", () => {
  it("only poolErrors.ts constructs a pg Pool or Client (packages, templates, tests)", () => {
    const found: string[] = [];
    for (const dir of ["packages", "templates", "test"]) {
      for (const path of sources(join(ROOT, dir))) {
        const file = relative(ROOT, path);
        if (file !== OWNER && file !== SELF) found.push(...offenders(readFileSync(path, "utf8"), file));
      }
    }
    expect(found).toEqual([]);
  });

  it("the check sees a construction (it can fail)", () => {
    const sample = 'import pg from "pg";\nconst pool = new pg.Pool({ max: 1 });\nconst c = new Client(url);';
    expect(offenders(sample, "x.ts")).toEqual([
      "x.ts:2: const pool = new pg.Pool({ max: 1 });",
      "x.ts:3: const c = new Client(url);",
    ]);
    expect(offenders(readFileSync(join(ROOT, OWNER), "utf8"), OWNER)).toHaveLength(2);
  });
});
