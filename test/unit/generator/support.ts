import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { onTestFinished } from "vitest";
import type { Answers } from "../../../packages/cli/src/generator/index.js";

export const ANSWERS: Answers = {
  service: "order-export",
  task: "export_orders",
  description: "Exports orders as CSV for the finance team.",
  packageManager: "npm",
};

/** Every file under `dir` with its content, paths relative and sorted: equal snapshots mean nothing changed. */
export function readTree(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const full = join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else tree[relative(dir, full).split(sep).join("/")] = readFileSync(full, "utf8");
    }
  };
  walk(dir);
  return tree;
}

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "wt-generator-"));
  // Registered from inside the running test, so onTestFinished (an afterEach added there never runs).
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects a command's output for in-process `runCli` calls. */
export function captureIo(env: Record<string, string | undefined> = {}) {
  const io = { out: "", err: "" };
  return {
    io,
    cli: {
      stdout: (text: string) => {
        io.out += text;
      },
      stderr: (text: string) => {
        io.err += text;
      },
      env: { CI: "true", ...env },
    },
  };
}
