import { cpSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/cli.js";
import {
  generate,
  templatesRoot,
  toolboxVersion,
  upgrade,
} from "../../../packages/cli/src/generator/index.js";
import { ANSWERS, captureIo, readTree, tempDir } from "./support.js";

const CURRENT = toolboxVersion();
const OLD = "0.0.9";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/generator/${name}`, import.meta.url), "utf8");

/**
 * An older release of the template: the current one with its Dockerfile on Node 18, one managed file
 * it later dropped (OLD-NOTES.md), without .dockerignore (added later), and with the handler-test helper
 * copied into the service (test/support/taskContext.ts, later replaced by @worker-toolbox/testing).
 */
function oldTemplate(root: string): { dir: string; version: string } {
  cpSync(templatesRoot(), join(root, "templates"), { recursive: true });
  const worker = join(root, "templates", "worker");
  mkdirSync(join(worker, "test", "support"), { recursive: true });
  writeFileSync(join(worker, "test", "support", "taskContext.ts"), fixture("copiedTaskContext.ts.txt"));
  writeFileSync(
    join(root, "templates", "task", "test", "{{kebabCase task}}.test.ts.hbs"),
    fixture("copiedTaskTest.ts.hbs"),
  );
  const dockerfile = join(worker, "Dockerfile");
  writeFileSync(dockerfile, readFileSync(dockerfile, "utf8").replaceAll("node:20-slim", "node:18-slim"));
  writeFileSync(join(worker, "OLD-NOTES.md"), "notes of the old template\n");
  unlinkSync(join(worker, "_dockerignore"));
  return { dir: worker, version: OLD };
}

/** A service generated from the old template, pinned to the old toolbox; the old template is then deleted. */
function oldService(): string {
  const root = tempDir();
  const template = oldTemplate(root);
  const dir = join(root, "svc");
  generate({ template, answers: { ...ANSWERS, toolboxVersion: OLD }, targetDir: dir });
  // Upgrading must not need the old template: the base renders in the service are enough.
  rmSync(join(root, "templates"), { recursive: true });
  return dir;
}

const edit = (dir: string, path: string, change: (text: string) => string) =>
  writeFileSync(join(dir, path), change(readFileSync(join(dir, path), "utf8")));

describe("upgrade", () => {
  it("merges a template change into a service edit: both survive", () => {
    const dir = oldService();
    edit(dir, "Dockerfile", (text) => `${text}LABEL team="orders"\n`);
    edit(dir, "src/tasks/index.ts", (text) => `${text}// owned by the service\n`);
    const ownedBefore = readTree(dir)["src/tasks/index.ts"];

    const [result] = upgrade([dir], { to: CURRENT });
    const tree = readTree(dir);
    expect(result!.conflicts).toEqual([]);
    expect(tree.Dockerfile).toContain("FROM node:20-slim AS build");
    expect(tree.Dockerfile).not.toContain("node:18");
    expect(tree.Dockerfile).toMatch(/LABEL team="orders"\n$/);
    expect(result!.files.find((file) => file.path === "Dockerfile")).toMatchObject({
      outcome: "merged",
      drifted: true,
    });
    expect(tree["src/tasks/index.ts"]).toBe(ownedBefore);
  });

  it("adds new managed files, removes dropped ones, bumps the toolbox and rewrites base and manifest", () => {
    const dir = oldService();
    const [result] = upgrade([dir], { to: CURRENT });
    const tree = readTree(dir);
    expect(result!.files.find((file) => file.path === ".dockerignore")?.outcome).toBe("created");
    expect(result!.files.find((file) => file.path === "OLD-NOTES.md")?.outcome).toBe("removed");
    expect(tree["OLD-NOTES.md"]).toBeUndefined();
    expect(tree[".worker-toolbox/base/OLD-NOTES.md"]).toBeUndefined();
    expect(tree[".worker-toolbox/base/Dockerfile"]).toBe(tree.Dockerfile);
    const pkg = JSON.parse(tree["package.json"]!);
    expect(pkg.dependencies["@worker-toolbox/runtime"]).toBe(CURRENT);
    expect(pkg.devDependencies["@worker-toolbox/conformance"]).toBe(CURRENT);
    expect(result!.bumped).toContain(`@worker-toolbox/runtime: ${OLD} → ${CURRENT}`);
    const manifest = JSON.parse(tree[".worker-toolbox.json"]!);
    expect(manifest).toMatchObject({ template: { version: CURRENT }, toolboxVersion: CURRENT });
    expect(manifest.managedFiles).toContain(".dockerignore");
    expect(manifest.managedFiles).not.toContain("OLD-NOTES.md");
  });

  it("moves a service from the copied test helper to the kit: helper removed, its importers rewritten", () => {
    const dir = oldService();
    const before = readTree(dir)["test/export-orders.test.ts"]!;
    expect(before).toContain('import { testTaskContext } from "./support/taskContext.js";');
    const [result] = upgrade([dir], { to: CURRENT });
    const tree = readTree(dir);
    expect(tree["test/support/taskContext.ts"]).toBeUndefined();
    expect(tree["test/export-orders.test.ts"]).toBe(
      before.replace('"./support/taskContext.js"', '"@worker-toolbox/testing"'),
    );
    expect(result!.files).toContainEqual(
      expect.objectContaining({ path: "test/export-orders.test.ts", outcome: "rewritten" }),
    );
    expect(result!.files.find((file) => file.path === "test/support/taskContext.ts")?.outcome).toBe(
      "removed",
    );
    // A second upgrade has nothing left to move.
    expect(upgrade([dir], { to: CURRENT })[0]!.changes).toEqual([]);
  });

  it("leaves an edited copy of the helper and its importers alone", () => {
    const dir = oldService();
    edit(dir, "test/support/taskContext.ts", (text) => `${text}// our own addition\n`);
    const [result] = upgrade([dir], { to: CURRENT });
    const tree = readTree(dir);
    expect(result!.files.find((file) => file.path === "test/support/taskContext.ts")?.outcome).toBe("kept");
    expect(tree["test/support/taskContext.ts"]).toContain("// our own addition");
    expect(tree["test/export-orders.test.ts"]).toContain('"./support/taskContext.js"');
  });

  it("keeps a user's own dependency edits in package.json while bumping the toolbox", () => {
    const dir = oldService();
    edit(dir, "package.json", (text) =>
      text.replace('"pino": "^10.0.0",', '"csv-stringify": "^6.5.0",\n    "pino": "^10.0.0",'),
    );
    upgrade([dir], { to: CURRENT });
    const pkg = JSON.parse(readTree(dir)["package.json"]!);
    expect(pkg.dependencies).toMatchObject({ "csv-stringify": "^6.5.0", "@worker-toolbox/config": CURRENT });
  });

  it("reports a conflicting edit per file and leaves git-style markers, never overwriting it", () => {
    const dir = oldService();
    edit(dir, "Dockerfile", (text) =>
      text.replace("FROM node:18-slim AS build", "FROM node:18-alpine AS build"),
    );
    const [result] = upgrade([dir], { to: CURRENT });
    expect(result!.conflicts).toEqual(["Dockerfile"]);
    const dockerfile = readTree(dir).Dockerfile!;
    expect(dockerfile).toContain(
      `<<<<<<< yours\nFROM node:18-alpine AS build\n=======\nFROM node:20-slim AS build\n>>>>>>> template ${CURRENT}\n`,
    );
  });

  it("a file the service deleted stays deleted", () => {
    const dir = oldService();
    unlinkSync(join(dir, "deploy/order-export.service"));
    const [result] = upgrade([dir], { to: CURRENT });
    expect(result!.files.find((file) => file.path === "deploy/order-export.service")?.outcome).toBe("kept");
    expect(readTree(dir)["deploy/order-export.service"]).toBeUndefined();
  });

  it("--check writes nothing and exits 1 while behind, 0 once upgraded (drift declared in customized)", async () => {
    const dir = oldService();
    edit(dir, "Dockerfile", (text) => `${text}LABEL team="orders"\n`);
    const before = readTree(dir);
    const check = async () => {
      const { io, cli } = captureIo();
      const code = await runCli(["upgrade", dir, "--check", "--json"], cli);
      return { code, report: JSON.parse(io.out)[0], err: io.err };
    };

    const behind = await check();
    expect(behind.code, behind.err).toBe(1);
    expect(behind.report).toMatchObject({ behind: true, status: "behind, drifted", drifted: ["Dockerfile"] });
    expect(readTree(dir)).toEqual(before);

    const { io, cli } = captureIo();
    expect(await runCli(["upgrade", dir, "--to", CURRENT], cli), io.err).toBe(0);
    expect(io.out).toMatch(/service\s+dir\s+from\s+to\s+status/);
    expect(io.out).toMatch(new RegExp(`order-export\\s+\\S+\\s+${OLD}\\s+${CURRENT}\\s+upgraded`));

    // Up to date, but the Dockerfile edit is drift until it is declared.
    const drifted = await check();
    expect(drifted.code).toBe(1);
    expect(drifted.report).toMatchObject({ behind: false, status: "drifted", drifted: ["Dockerfile"] });

    edit(dir, ".worker-toolbox.json", (text) => {
      const manifest = JSON.parse(text);
      manifest.customized = ["Dockerfile"];
      return JSON.stringify(manifest, null, 2);
    });
    const current = await check();
    expect(current.code, JSON.stringify(current.report)).toBe(0);
    expect(current.report.status).toBe("current");
  });

  it("a freshly generated service is current; upgrade leaves it byte-identical", async () => {
    const dir = join(tempDir(), "svc");
    generate({ answers: ANSWERS, targetDir: dir });
    const before = readTree(dir);
    const { io, cli } = captureIo();
    expect(await runCli(["upgrade", dir, "--check"], cli), io.out + io.err).toBe(0);
    const [result] = upgrade([dir]);
    expect(result!.changes).toEqual([]);
    expect(readTree(dir)).toEqual(before);
  });

  it("refuses --to another version when WORKER_TOOLBOX_DELEGATED is set: exit 2, the fix named, nothing written", async () => {
    // A leaked marker used to make this CLI skip the hand-off and pin 9.9.9 over its own template, exit 0.
    const dir = oldService();
    const before = readTree(dir);
    const leaked = captureIo({ WORKER_TOOLBOX_DELEGATED: "1" });
    expect(await runCli(["upgrade", dir, "--to", "9.9.9"], leaked.cli), leaked.io.out).toBe(2);
    expect(leaked.io.err).toContain(
      `error GENERATOR_HANDOFF_REFUSED: worker-toolbox upgrade --to 9.9.9 needs the 9.9.9 CLI (this one is ${CURRENT}), but WORKER_TOOLBOX_DELEGATED=1 is set`,
    );
    expect(leaked.io.err).toContain("fix: unset WORKER_TOOLBOX_DELEGATED");
    expect(readTree(dir)).toEqual(before);

    // A real hand-off that npm answered with this CLI instead of 9.9.9's: refused too, with the npm fix.
    const misrouted = captureIo({ WORKER_TOOLBOX_DELEGATED: "9.9.9" });
    expect(await runCli(["upgrade", dir, "--to", "9.9.9", "--json"], misrouted.cli)).toBe(2);
    expect(JSON.parse(misrouted.io.out).error).toMatchObject({
      code: "GENERATOR_HANDOFF_REFUSED",
      message: expect.stringContaining("npm ran this CLI instead"),
      hint: expect.stringContaining("npm view @worker-toolbox/cli@9.9.9 version"),
    });
    expect(readTree(dir)).toEqual(before);

    // The marker is only read for another version: this CLI's own upgrade runs as ever.
    const own = captureIo({ WORKER_TOOLBOX_DELEGATED: "1" });
    expect(await runCli(["upgrade", dir, "--to", CURRENT], own.cli), own.io.err).toBe(0);
  });

  it("exits 2 for a directory that is not a generated service, and for a bad --to", async () => {
    const { io, cli } = captureIo();
    expect(await runCli(["upgrade", tempDir()], cli)).toBe(2);
    expect(io.err).toMatch(/has no \.worker-toolbox\.json/);
    const dir = join(tempDir(), "svc");
    generate({ answers: ANSWERS, targetDir: dir });
    expect(await runCli(["upgrade", dir, "--to", "latest"], cli)).toBe(2);
    expect(io.err).toMatch(/--to "latest": it must be an exact version/);
  });
});
