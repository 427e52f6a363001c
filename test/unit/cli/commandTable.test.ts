import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { commandTable, runCli } from "@worker-toolbox/cli";
import { afterAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "wt-cli-loads-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A module hook that writes every URL Node loads to a file, registered after tsx in the child process.
const hooks = join(scratch, "hooks.mjs");
writeFileSync(
  hooks,
  `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.TEST_LOAD_LOG, url + "\\n");
  return next(url, context);
}
`,
);
const register = join(scratch, "register.mjs");
writeFileSync(
  register,
  `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

/** Run the CLI from source in a child process; return the module URLs it loaded. */
function loadedBy(args: string[]): string[] {
  const log = join(scratch, `${args.join("_").replace(/\W/g, "")}.log`);
  writeFileSync(log, "");
  const child = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      register,
      "--conditions=@worker-toolbox/source",
      join(repo, "packages/cli/src/main.ts"),
      ...args,
    ],
    {
      cwd: repo,
      env: { PATH: process.env.PATH, TEST_LOAD_LOG: log, WT_MODE: "development", WT_SERVICE: "billing" },
      encoding: "utf8",
    },
  );
  expect(child.status, child.stderr).toBe(0);
  return readFileSync(log, "utf8").split("\n").filter(Boolean);
}

const from = (urls: string[], part: string) => urls.filter((url) => url.includes(part));

describe("the command table", () => {
  it("top-level --help loads no command module, no toolbox package and no client library", () => {
    const urls = loadedBy(["--help"]);
    expect(from(urls, "/packages/cli/src/main.ts")).toHaveLength(1); // the hook saw the CLI load
    for (const heavy of [
      "/packages/cli/src/commands/db.ts",
      "/packages/cli/src/generator/",
      "/packages/config/",
      "/packages/runtime/",
      "/node_modules/zod/",
      "/node_modules/pg/",
      "/node_modules/amqplib/",
      "/node_modules/handlebars/",
    ]) {
      expect(from(urls, heavy), heavy).toEqual([]);
    }
  });

  it("a group's --help loads its own module only; the runtime waits for a handler that needs it", () => {
    const urls = loadedBy(["db", "--help"]);
    expect(from(urls, "/packages/cli/src/commands/db.ts")).toHaveLength(1);
    expect(from(urls, "/packages/cli/src/commands/dlq.ts")).toEqual([]);
    expect(from(urls, "/packages/runtime/")).toEqual([]);
    expect(from(urls, "/node_modules/pg/")).toEqual([]);
  });

  it("the operator commands' --help loads their shared runtime loader but not the runtime", () => {
    for (const command of ["audit", "monitor", "inspect"]) {
      const urls = loadedBy([command, "--help"]);
      expect(from(urls, `/packages/cli/src/commands/${command}.ts`), command).toHaveLength(1);
      expect(from(urls, "/packages/cli/src/opsRuntime.ts"), command).toHaveLength(1);
      expect(from(urls, "/packages/runtime/"), command).toEqual([]);
      expect(from(urls, "/node_modules/pg/"), command).toEqual([]);
      expect(from(urls, "/node_modules/amqplib/"), command).toEqual([]);
    }
  }, 60_000); // three CLI processes: seconds each on a loaded machine, not 5 in all

  it("`topology plan` needs the config package only, not the broker client", () => {
    const urls = loadedBy(["topology", "plan"]);
    expect(from(urls, "/packages/config/src/planTopology.ts")).toHaveLength(1);
    expect(from(urls, "/packages/runtime/")).toEqual([]);
    expect(from(urls, "/node_modules/amqplib/")).toEqual([]);
  });

  it("every entry loads a module whose builder yargs accepts", async () => {
    for (const entry of commandTable) {
      const name = entry.command.split(" ")[0] ?? "";
      let out = "";
      const code = await runCli([name, "--help"], {
        stdout: (text) => {
          out += text;
        },
        stderr: (text) => {
          out += text;
        },
        env: {},
      });
      expect(code, out).toBe(0);
      expect(out, name).toContain(entry.describe.slice(0, 40));
    }
  }, 60_000); // loads every command module: over vitest's 5 s default at load average 15
});
