import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/cli.js";
import { generate, toolboxVersion } from "../../../packages/cli/src/generator/index.js";
import { ANSWERS, captureIo, tempDir } from "./support.js";

const CURRENT = toolboxVersion();
const read = (dir: string, path: string) => readFileSync(join(dir, path), "utf8");
const edit = (dir: string, path: string, change: (text: string) => string) =>
  writeFileSync(join(dir, path), change(read(dir, path)));

async function cli(args: string[]) {
  const { io, cli: options } = captureIo();
  const code = await runCli(args, options);
  return { code, out: io.out, err: io.err };
}

/** A generated service with node_modules and a lockfile as `npm install` leaves them (toolbox part only). */
function installedService(name = "svc"): string {
  const dir = join(tempDir(), name);
  generate({ answers: { ...ANSWERS, service: name }, targetDir: dir });
  const pkg = JSON.parse(read(dir, "package.json"));
  const packages: Record<string, unknown> = {
    "": { name, dependencies: pkg.dependencies, devDependencies: pkg.devDependencies },
  };
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [dep, version] of Object.entries(deps as Record<string, string>)) {
      if (!dep.startsWith("@worker-toolbox/")) continue;
      mkdirSync(join(dir, "node_modules", dep), { recursive: true });
      writeFileSync(join(dir, "node_modules", dep, "package.json"), JSON.stringify({ name: dep, version }));
      packages[`node_modules/${dep}`] = { version };
    }
  }
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages }));
  return dir;
}

describe("package.json is merged by key", () => {
  it("a dependency and a script the service added are its own: not drift, kept by upgrade", async () => {
    const dir = installedService();
    edit(dir, "package.json", (text) => {
      const pkg = JSON.parse(text);
      pkg.dependencies["csv-stringify"] = "^6.5.0";
      pkg.scripts.lint = "biome check .";
      return JSON.stringify(pkg, null, 2);
    });
    const check = await cli(["upgrade", dir, "--check", "--json"]);
    expect(JSON.parse(check.out)[0]).toMatchObject({ drifted: [], status: "current" });
    expect(check.code, check.err).toBe(0);
    const pkg = JSON.parse(read(dir, "package.json"));
    expect(pkg.dependencies["csv-stringify"]).toBe("^6.5.0");
  });

  it("a toolbox pin edited by hand is drift", async () => {
    const dir = installedService();
    edit(dir, "package.json", (text) =>
      text.replace(`"@worker-toolbox/runtime": "${CURRENT}"`, '"@worker-toolbox/runtime": "^0.1.0"'),
    );
    const check = await cli(["upgrade", dir, "--check", "--json"]);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.out)[0].drifted).toEqual(["package.json"]);
  });
});

describe("conflicts left by an upgrade", () => {
  it("are reported as conflicted by --check and by fleet (exit 1), and left untouched by upgrade", async () => {
    const dir = installedService();
    const marked = `${read(dir, "Dockerfile")}<<<<<<< yours\nRUN echo ours\n=======\nRUN echo theirs\n>>>>>>> template ${CURRENT}\n`;
    writeFileSync(join(dir, "Dockerfile"), marked);

    const check = await cli(["upgrade", dir, "--check", "--json"]);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.out)[0]).toMatchObject({
      status: "conflicted",
      conflicts: ["Dockerfile"],
      drifted: [],
    });

    const again = await cli(["upgrade", dir]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/conflict\s+Dockerfile/);
    expect(read(dir, "Dockerfile")).toBe(marked);

    const fleet = await cli(["fleet", dir, "--json"]);
    expect(fleet.code).toBe(1);
    expect(JSON.parse(fleet.out)[0]).toMatchObject({ conflicted: ["Dockerfile"], status: ["conflicted"] });
  });
});

describe("worker-toolbox fleet", () => {
  it("shows pinned and installed versions, template, lockfile and status per service", async () => {
    const current = installedService("svc-current");
    const stale = installedService("svc-stale");
    edit(stale, "package.json", (text) => text.replace('"zod":', '"ms": "^2.1.0",\n    "zod":'));
    const bare = join(tempDir(), "svc-bare");
    generate({ answers: { ...ANSWERS, service: "svc-bare" }, targetDir: bare });

    const json = await cli(["fleet", current, stale, bare, "--json"]);
    expect(json.code).toBe(1);
    const entries = JSON.parse(json.out);
    expect(entries[0]).toMatchObject({
      service: "svc-current",
      toolbox: { pinned: CURRENT, installed: CURRENT, latest: CURRENT },
      template: { version: CURRENT },
      lockfile: "current",
      status: ["current"],
    });
    expect(entries[1]).toMatchObject({ lockfile: "stale", status: ["lockfile stale"] });
    expect(entries[2]).toMatchObject({
      toolbox: { installed: "missing" },
      status: ["not installed", "lockfile missing"],
    });

    const text = await cli(["fleet", current]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(
      /service\s+dir\s+pinned\s+installed\s+template\s+lockfile\s+drifted\s+conflicts\s+status/,
    );
    expect(text.out).toMatch(
      new RegExp(
        `svc-current\\s+\\S+\\s+${CURRENT}\\s+${CURRENT}\\s+${CURRENT}\\s+current\\s+-\\s+-\\s+current`,
      ),
    );
  });

  it("exits 2 for a directory that is not a service, and still reports the others", async () => {
    const good = installedService();
    const result = await cli(["fleet", good, tempDir(), "--json"]);
    expect(result.code).toBe(2);
    const entries = JSON.parse(result.out);
    expect(entries[0].status).toEqual(["current"]);
    expect(entries[1]).toMatchObject({ status: ["not a service"] });
    expect(result.err).toMatch(/has no \.worker-toolbox\.json/);
  });
});
