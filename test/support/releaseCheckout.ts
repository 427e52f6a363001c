import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";

/** A command's outcome with everything it printed, for assertion messages. */
export interface Ran {
  code: number | null;
  output: string;
  stdout: string;
  seconds: number;
}

/** Run a command to completion (no shell), collecting its output. */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  options: { input?: string; timeoutMs?: number } = {},
): Ran {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    env,
    encoding: "utf8",
    input: options.input ?? "",
    timeout: options.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const how = result.error
    ? ` (${result.error.message})`
    : result.signal
      ? ` (killed by ${result.signal})`
      : "";
  const output = `$ ${command} ${args.join(" ")} (in ${cwd}) exit ${result.status}${how} after ${seconds}s\n${result.stdout}\n${result.stderr}`;
  return { code: result.status, output, stdout: result.stdout ?? "", seconds };
}

/**
 * A copy of this checkout as a maintainer has it (the files git tracks or would track, uncommitted edits
 * included; no build output), sharing the installed third-party packages: every entry of node_modules is a
 * symlink into the original's, except `@worker-toolbox/*`, which point at the copy's own packages. The
 * release tests build and publish from it, and change its template and runtime, without touching the repo.
 */
export function copyCheckout(repo: string, dest: string): void {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${repo}: ${listed.stderr}`);
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    const from = join(repo, file);
    if (!existsSync(from)) continue; // deleted in the work tree
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(from, join(dest, file));
  }
  const modules = join(dest, "node_modules");
  mkdirSync(modules);
  for (const entry of readdirSync(join(repo, "node_modules"))) {
    if (entry !== "@worker-toolbox") symlinkSync(join(repo, "node_modules", entry), join(modules, entry));
  }
  mkdirSync(join(modules, "@worker-toolbox"));
  for (const pkg of readdirSync(join(dest, "packages"))) {
    symlinkSync(join(dest, "packages", pkg), join(modules, "@worker-toolbox", pkg));
  }
}

/** The version a package.json names. */
export function versionOf(packageJson: string): string {
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
}

/** The next minor version: 0.1.0 → 0.2.0. */
export function nextMinor(version: string): string {
  const [major, minor] = version.split(".").map(Number);
  return `${major}.${(minor ?? 0) + 1}.0`;
}

/**
 * An npm cache for one test run: its own `_npx` (where `npm exec` installs a package, keyed by the spec
 * alone, so `@worker-toolbox/cli@0.2.0` published by another run — another engineer's suite on this
 * machine — would be run instead of this run's), sharing the machine's content-addressed store
 * (`_cacache`, safe for concurrent use), so third-party tarballs are not downloaded again.
 */
export function privateNpmCache(dir: string): string {
  const shared = spawnSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).stdout.trim();
  mkdirSync(dir, { recursive: true });
  if (shared) {
    mkdirSync(join(shared, "_cacache"), { recursive: true });
    symlinkSync(join(shared, "_cacache"), join(dir, "_cacache"));
  }
  return dir;
}
