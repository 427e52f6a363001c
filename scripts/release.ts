/**
 * `npm run release -- <version> [--dry-run] [--tag <dist-tag>]`: release every `@worker-toolbox/*` package
 * under one version, to the registry npm is configured for (`npm config get registry`, .npmrc).
 *
 *  1. set `<version>` in every packages/* package.json and in the exact pins between them (and the lockfile);
 *  2. turn the notes under "## Unreleased" in CHANGELOG.md into the release's entry, with the template
 *     changes against the previous published CLI and what `worker-toolbox upgrade` does with each;
 *  3. build (`npm run build`) and `npm publish` each package in dependency order, skipping one already
 *     published at this version (a release that failed half-way is finished by running it again).
 *
 * It commits nothing: commit the bump and the changelog and tag `v<version>` afterwards (docs/releasing.md).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareVersions, describeTemplateChanges, VERSION } from "./releaseChanges.js";

/** In dependency order: a package is published after every toolbox package it depends on. */
const RELEASE_ORDER = ["config", "testing", "runtime", "conformance", "dashboard", "cli"] as const;
const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "peerDependencies"] as const;

interface Options {
  version: string;
  dryRun: boolean;
  tag: string | undefined;
  root: string;
}

type PackageJson = Record<string, unknown> & { name: string; version: string };

function fail(message: string): never {
  console.error(`release: ${message}`);
  process.exit(1);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    version: "",
    dryRun: false,
    tag: undefined,
    root: fileURLToPath(new URL("..", import.meta.url)),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--tag") options.tag = argv[++i] ?? fail("--tag needs a dist-tag, e.g. --tag next");
    else if (arg === "--help" || arg === "-h") {
      console.log("usage: npm run release -- <version> [--dry-run] [--tag <dist-tag>]");
      process.exit(0);
    } else if (arg.startsWith("-")) fail(`unknown option ${arg} (see --help)`);
    else options.version = arg;
  }
  if (!VERSION.test(options.version))
    fail(`give the version to release, e.g. 0.2.0 (got "${options.version}")`);
  return options;
}

function npm(args: string[], cwd: string, inherit = false) {
  const result = spawnSync("npm", args, { cwd, encoding: "utf8", stdio: inherit ? "inherit" : "pipe" });
  return { code: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Versions of a package in the configured registry; [] when it was never published there. */
function publishedVersions(name: string, cwd: string): string[] {
  const view = npm(["view", name, "versions", "--json"], cwd);
  if (view.code !== 0) {
    if (/E404|404 Not Found/.test(view.stderr)) return [];
    fail(`npm view ${name} failed:\n${view.stderr}`);
  }
  const parsed = JSON.parse(view.stdout || "[]") as string | string[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

const packagePath = (root: string, pkg: string) => join(root, "packages", pkg, "package.json");
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const writeJson = (path: string, value: unknown) =>
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

/** Set the version of every package and of every exact pin between them; the lockfile's workspace entries too. */
function bumpVersions(root: string, version: string): void {
  const setPins = (entry: Record<string, unknown>) => {
    for (const field of DEPENDENCY_FIELDS) {
      const deps = entry[field] as Record<string, string> | undefined;
      for (const name of Object.keys(deps ?? {}))
        if (name.startsWith("@worker-toolbox/")) deps![name] = version;
    }
  };
  for (const pkg of RELEASE_ORDER) {
    const json = readJson<PackageJson>(packagePath(root, pkg));
    json.version = version;
    setPins(json);
    writeJson(packagePath(root, pkg), json);
  }
  const lockPath = join(root, "package-lock.json");
  if (!existsSync(lockPath)) return;
  const lock = readJson<{ packages: Record<string, Record<string, unknown>> }>(lockPath);
  for (const pkg of RELEASE_ORDER) {
    const entry = lock.packages[`packages/${pkg}`];
    if (!entry) continue;
    entry.version = version;
    setPins(entry);
  }
  writeJson(lockPath, lock);
}

/** The templates of a published CLI version, unpacked into a temp dir (removed by the caller). */
function publishedTemplates(version: string, root: string): { dir: string; templates: string } {
  const dir = mkdtempSync(join(tmpdir(), "wt-release-"));
  const pack = npm(["pack", `@worker-toolbox/cli@${version}`, "--pack-destination", dir, "--json"], root);
  if (pack.code !== 0) fail(`npm pack @worker-toolbox/cli@${version} failed:\n${pack.stderr}`);
  const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
  const untar = spawnSync("tar", ["-xzf", join(dir, filename), "-C", dir], { encoding: "utf8" });
  if (untar.status !== 0) fail(`unpacking ${filename} failed: ${untar.stderr}`);
  return { dir, templates: join(dir, "package", "templates") };
}

/** The CHANGELOG.md entry: the Unreleased notes, then the template changes and the pin move. */
function changelogEntry(options: Options, notes: string, previous: string | undefined): string {
  const date = new Date().toISOString().slice(0, 10);
  const lines = [`## ${options.version} — ${date}`, "", notes, ""];
  lines.push(`### Template changes: what \`worker-toolbox upgrade --to ${options.version}\` does`, "");
  if (previous === undefined) {
    lines.push("First release to this registry: nothing to compare the template with.", "");
    return lines.join("\n");
  }
  const old = publishedTemplates(previous, options.root);
  try {
    const changes = describeTemplateChanges(old.templates, join(options.root, "templates"));
    lines.push(`Compared with the template of the published ${previous}:`, "");
    lines.push(...(changes.length > 0 ? changes.map((line) => `- ${line}`) : ["- no template file changed"]));
  } finally {
    rmSync(old.dir, { recursive: true, force: true });
  }
  lines.push(
    `- \`package.json\`: every \`@worker-toolbox/*\` pin moves ${previous} → ${options.version}; the rest of`,
    "  the file is the service's and is merged key by key.",
    "",
  );
  return lines.join("\n");
}

function writeChangelog(options: Options, previous: string | undefined): string {
  const file = join(options.root, "CHANGELOG.md");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Changelog\n\n## Unreleased\n";
  const match = /^## Unreleased[ \t]*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(text);
  const notes = match?.[1]?.trim() ?? "";
  if (!match || notes === "") {
    fail("write what changed under `## Unreleased` in CHANGELOG.md first; it becomes the release's entry");
  }
  const entry = changelogEntry(options, notes, previous);
  const updated = `${text.slice(0, match.index)}## Unreleased\n\n${entry}\n${text.slice(match.index + match[0].length)}`;
  if (!options.dryRun) writeFileSync(file, updated);
  return entry;
}

function publish(options: Options, already: ReadonlySet<string>): void {
  for (const pkg of RELEASE_ORDER) {
    const name = readJson<PackageJson>(packagePath(options.root, pkg)).name;
    if (already.has(name)) {
      console.log(`release: ${name}@${options.version} is already published; skipped`);
      continue;
    }
    const args = ["publish", "--workspace", `packages/${pkg}`];
    if (options.tag) args.push("--tag", options.tag);
    if (options.dryRun) args.push("--dry-run");
    console.log(`release: npm ${args.join(" ")}`);
    const result = npm(args, options.root, true);
    if (result.code !== 0) fail(`publishing ${name} failed; fix the cause and run the release again`);
  }
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const cli = readJson<PackageJson>(packagePath(options.root, "cli"));
  const published = publishedVersions(cli.name, options.root);
  const previous = published
    .filter((version) => compareVersions(version, options.version) < 0)
    .sort(compareVersions)
    .at(-1);
  const newer = published.filter((version) => compareVersions(version, options.version) > 0);
  if (newer.length > 0) fail(`${cli.name} ${newer.join(", ")} is already newer than ${options.version}`);
  const already = new Set(
    RELEASE_ORDER.map((pkg) => readJson<PackageJson>(packagePath(options.root, pkg)).name).filter((name) =>
      publishedVersions(`${name}@${options.version}`, options.root).includes(options.version),
    ),
  );

  console.log(
    `release: ${options.version} (previous: ${previous ?? "none"})${options.dryRun ? " — dry run" : ""}`,
  );
  if (already.size === 0) console.log(writeChangelog(options, previous));
  if (!options.dryRun) bumpVersions(options.root, options.version);
  const build = spawnSync("npm", ["run", "build"], { cwd: options.root, stdio: "inherit" });
  if (build.status !== 0) fail("the build failed; nothing was published");
  publish(options, already);
  console.log(
    options.dryRun
      ? "release: dry run done; nothing was written or published"
      : `release: published ${options.version}. Commit package.json files, package-lock.json and CHANGELOG.md, then tag v${options.version}.`,
  );
}

main();
