import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * A pg pool or client whose connection fails outside a query emits `error`; with no listener Node throws it
 * and the process dies (a worker, the dashboard, a CLI command, a test run). One module opens them with a
 * listener (packages/runtime/src/results/poolErrors.ts: `guardedPool`, `guardedClient`, `guardPool` for a
 * pool passed in); tests use test/support/database.ts on top of it. This fails when any source or test file
 * of the product constructs a pg Pool or Client another way. The benches' TypeScript uses the same guard; their
 * plain-JavaScript processes (the raw pipelines, which use no toolbox code) wrap every construction in
 * bench/pgErrors.mjs's `failOnPgError(...)`.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OWNER = "packages/runtime/src/results/poolErrors.ts";
const SELF = "test/unit/databaseGuards.test.ts";
/** Plays an application that hands its own, unguarded pools to the toolbox (test/results/poolErrors). */
const APPLICATION = "test/fixtures/database/applicationPools.ts";
const CONSTRUCTS = /new\s+(pg\.)?(Pool|Client)\s*\(|\bpg\.(Pool|Client)\s*\(/;
/** pg's only; amqplib and others have their own Pool/Client names elsewhere: only files that import pg count. */
const IMPORTS_PG = /from\s+"pg"|import\(\s*"pg"\s*\)/;
const BENCH_GUARD = "bench/pgErrors.mjs";
/** In bench/: a construction inside `failOnPgError(` (on its line or the line before) has its listener. */
const WRAPPED = /failOnPgError\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name === "tmp") return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx|mts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function offenders(text: string, file: string): string[] {
  if (!IMPORTS_PG.test(text)) return [];
  const lines = text.split("\n");
  const wrapped = (i: number) =>
    file.startsWith("bench/") && WRAPPED.test(`${lines[i - 1] ?? ""}${lines[i]}`);
  return lines
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => CONSTRUCTS.test(line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "")))
    .filter(({ i }) => !wrapped(i))
    .map(({ line, i }) => `${file}:${i + 1}: ${line.trim()}`);
}

describe("every pg pool and client has an error listener", () => {
  it("only poolErrors.ts constructs a pg Pool or Client (packages, templates, tests, benches)", () => {
    const found: string[] = [];
    for (const dir of ["packages", "templates", "test", "bench"]) {
      for (const path of sources(join(ROOT, dir))) {
        const file = relative(ROOT, path);
        if (file !== OWNER && file !== SELF && file !== APPLICATION)
          found.push(...offenders(readFileSync(path, "utf8"), file));
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
    // bench/'s plain-JavaScript wrapper counts in bench/ only, on the construction's line or the one before.
    const benchSample =
      'import pg from "pg";\nconst a = failOnPgError(new pg.Pool({}), "a");\nconst b = failOnPgError(\n  new pg.Client(url),\n  "b",\n);\nconst c = new pg.Pool({});';
    expect(offenders(benchSample, "bench/x.mjs")).toEqual(["bench/x.mjs:7: const c = new pg.Pool({});"]);
    expect(offenders(benchSample, "test/x.ts")).toHaveLength(3);
  });

  it("the benches' listener ends a bench process loudly when its connection drops", () => {
    const script = `import { EventEmitter } from "node:events";
      import { failOnPgError } from "./${BENCH_GUARD}";
      failOnPgError(new EventEmitter(), "LISTEN client").emit("error", new Error("terminating connection"));
      setTimeout(() => process.stdout.write("still running"), 50);`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^bench: .*\(pid \d+\): LISTEN client: database connection failed: terminating connection\n$/,
    );
  });
});
