import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/cli.js";
import { type Answers, generate, toolboxVersion } from "../../../packages/cli/src/generator/index.js";
import { ANSWERS, captureIo, readTree, tempDir } from "./support.js";

function expectRefused(run: () => unknown, code: string, pattern: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(isToolboxError(thrown), String(thrown)).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
  expect((thrown as Error).message).toMatch(pattern);
}

describe("generate refuses bad input and writes nothing", () => {
  const bad: [string, Partial<Answers>, RegExp][] = [
    [
      "path traversal in the name",
      { service: "../x" },
      /service name "\.\.\/x": it must be lower kebab-case/,
    ],
    ["upper case", { service: "Foo" }, /service name "Foo": it must be lower kebab-case/],
    ["a space", { service: "a b" }, /service name "a b"/],
    ["handlebars", { service: "{{x}}" }, /service name "\{\{x\}\}"/],
    ["a reserved name", { service: "platform" }, /`platform` is reserved/],
    ["a task with a dot", { task: "a.b" }, /--task "a\.b": give only the part after/],
    ["a task with traversal", { task: "../x" }, /--task "\.\.\/x"/],
    ["a task with a space", { task: "a b" }, /--task "a b"/],
    ["handlebars in the description", { description: "hi {{service}}" }, /must not contain `\{\{`/],
    ["shell in the description", { description: "hi $(rm -rf /)" }, /backticks, `\$\(`/],
    ["a backtick in the description", { description: "hi `id`" }, /backticks/],
    ["two lines", { description: "one\ntwo" }, /single line/],
    ["an unsupported package manager", { packageManager: "yarn" as "npm" }, /only npm is supported/],
    ["a version range", { toolboxVersion: "^1.0.0" }, /exact version/],
  ];

  for (const [what, change, message] of bad) {
    it(`rejects ${what} (GENERATOR_INVALID_INPUT) and leaves the directory unchanged`, () => {
      const dir = tempDir();
      writeFileSync(join(dir, "keep.txt"), "mine");
      const before = readTree(dir);
      expectRefused(
        () => generate({ answers: { ...ANSWERS, ...change }, targetDir: join(dir, "svc") }),
        "GENERATOR_INVALID_INPUT",
        message,
      );
      expect(readTree(dir)).toEqual(before);
      expect(existsSync(join(dir, "svc"))).toBe(false);
    });
  }

  it("lists every problem at once", () => {
    expectRefused(
      () => generate({ answers: { ...ANSWERS, service: "Foo", task: "a b" }, targetDir: tempDir() }),
      "GENERATOR_INVALID_INPUT",
      /service name "Foo"[\s\S]*--task "a b"/,
    );
  });

  it("rejects a target with a .. segment", () => {
    expectRefused(
      () => generate({ answers: ANSWERS, targetDir: "../somewhere" }),
      "GENERATOR_INVALID_INPUT",
      /path traversal/,
    );
  });

  it("refuses a non-empty target without force (GENERATOR_TARGET_NOT_EMPTY), writing nothing", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "package.json"), "{}\n");
    mkdirSync(join(dir, "src"));
    const before = readTree(dir);
    expectRefused(
      () => generate({ answers: ANSWERS, targetDir: dir }),
      "GENERATOR_TARGET_NOT_EMPTY",
      /is not empty \(package\.json, src\)[\s\S]*--force/,
    );
    expect(readTree(dir)).toEqual(before);
  });

  it("with force, overwrites template files and keeps the rest", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "package.json"), "{}\n");
    writeFileSync(join(dir, "notes.md"), "mine\n");
    const result = generate({ answers: ANSWERS, targetDir: dir, force: true });
    expect(result.changes.find((change) => change.path === "package.json")?.action).toBe("overwrite");
    expect(readTree(dir)["notes.md"]).toBe("mine\n");
  });

  it("dry run plans every file and writes nothing", () => {
    const dir = tempDir();
    const result = generate({ answers: ANSWERS, targetDir: join(dir, "svc"), dryRun: true });
    expect(result.changes.length).toBeGreaterThan(10);
    expect(existsSync(join(dir, "svc"))).toBe(false);
  });
});

describe("worker-toolbox new (in process)", () => {
  it("exits 2 with the reason for a bad name and writes nothing", async () => {
    const dir = tempDir();
    const { io, cli } = captureIo();
    const code = await runCli(["new", "Foo", "--dir", join(dir, "svc")], cli);
    expect(code).toBe(2);
    expect(io.err).toMatch(/GENERATOR_INVALID_INPUT[\s\S]*service name "Foo"/);
    expect(readTree(dir)).toEqual({});
  });

  it("exits 2 for a non-empty target, and prints JSON errors with --json", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "x"), "");
    const { io, cli } = captureIo();
    const code = await runCli(["new", "billing", "--dir", dir, "--json"], cli);
    expect(code).toBe(2);
    expect(JSON.parse(io.out).error.code).toBe("GENERATOR_TARGET_NOT_EMPTY");
    expect(readTree(dir)).toEqual({ x: "" });
  });

  it("creates the service without prompting in CI and prints the next commands", async () => {
    const dir = tempDir();
    const { io, cli } = captureIo();
    const code = await runCli(
      ["new", "billing", "--task", "send_invoice", "--dir", join(dir, "billing")],
      cli,
    );
    expect(code, io.err).toBe(0);
    expect(io.out).toContain("create          src/tasks/send-invoice.ts");
    expect(io.out).toMatch(/Next:\n {2}cd \S*billing\n {2}npm install\n {2}npm test\n {2}npm run dev\n/);
    // How the toolbox is resolved: the exact pin and the registry npm is configured with.
    expect(io.out).toContain(
      `npm install: @worker-toolbox/* ${toolboxVersion()}, pinned exactly, from the registry`,
    );
    const tree = readTree(join(dir, "billing"));
    expect(tree["src/tasks/send-invoice.ts"]).toContain('name: "billing.send_invoice.v1"');
    expect(JSON.parse(tree[".worker-toolbox.json"]!).answers).toMatchObject({
      service: "billing",
      task: "send_invoice",
      description: "Worker service billing.",
    });
  });

  it("without a name and without a terminal, exits 2 asking for one", async () => {
    const { io, cli } = captureIo();
    expect(await runCli(["new", "--dry-run"], cli)).toBe(2);
    expect(io.err).toMatch(/No service name given/);
  });
});
