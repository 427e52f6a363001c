#!/usr/bin/env node
// Runs the built CLI (dist/main.js). In the monorepo, where nothing is built, it re-runs Node with tsx
// and the `@worker-toolbox/source` condition so the workspace packages resolve to their TypeScript source.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/main.js", import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  const source = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  // Resolve tsx from here, not from the caller's working directory.
  const tsx = import.meta.resolve("tsx");
  const child = spawnSync(
    process.execPath,
    ["--import", tsx, "--conditions=@worker-toolbox/source", source, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  if (child.error) throw child.error;
  process.exitCode = child.status ?? 128 + (child.signal ? (constants.signals[child.signal] ?? 0) : 0);
}
