import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RegistryServer, startRegistry } from "@worker-toolbox/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  copyCheckout,
  nextMinor,
  privateNpmCache,
  type Ran,
  run,
  versionOf,
} from "../support/releaseCheckout.js";
import { testServers } from "../support/servers.js";
import { runSideBySide } from "../support/sideBySide.js";
import { runWorkflowJob } from "../support/workflowRunner.js";

/**
 * The path a platform team takes, on a real private registry (Verdaccio on loopback): release A of the
 * toolbox with `npm run release`, create three services with the *published* CLI (`npm exec`, one answering
 * the prompts on a terminal, two with flags), install them from the registry, edit them as their teams
 * would, release B with a template change and a runtime change, look at the fleet, upgrade all three with
 * `--install --test`, and look again. Then the generated CI workflow runs, step by step, on one of them.
 */
const repo = fileURLToPath(new URL("../..", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "wt-release-e2e-"));
const checkout = join(root, "checkout");
const fleetDir = join(root, "services");
const A = versionOf(join(repo, "packages/cli/package.json"));
const B = nextMinor(A);
const names = ["orders-a", "orders-b", "orders-c"] as const;
const dir = (name: string) => join(fleetDir, name);
/** A replica of orders-a left on A (its deployed directory, copied) while orders-a itself moves to B. */
const replicaA = join(root, "orders-a-replica");
const read = (name: string, path: string) => readFileSync(join(dir(name), path), "utf8");
const edit = (name: string, path: string, change: (text: string) => string) =>
  writeFileSync(join(dir(name), path), change(read(name, path)));
let registry: RegistryServer;
const timings: string[] = [];
const npmCache = join(root, "npm-cache");

function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CI: "true",
    NPM_CONFIG_USERCONFIG: registry.npmrc,
    npm_config_registry: registry.url,
    npm_config_cache: npmCache,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    ...extra,
  };
}

function serverEnv(): Record<string, string> {
  const servers = testServers();
  return {
    AMQP_URL: servers.amqpUrl,
    DATABASE_URL: servers.databaseUrl,
    ...(servers.managementUrl ? { RABBITMQ_MANAGEMENT_URL: servers.managementUrl } : {}),
  };
}

/** `worker-toolbox` as published: `npm exec --package @worker-toolbox/cli@<version>`, fetched from the registry. */
function toolbox(version: string, args: string[], cwd = fleetDir, env = npmEnv()): Ran {
  return timed(`worker-toolbox ${args[0]} (${version})`, () =>
    run(
      "npm",
      ["exec", "--yes", `--package=@worker-toolbox/cli@${version}`, "--", "worker-toolbox", ...args],
      cwd,
      env,
    ),
  );
}

function timed(label: string, action: () => Ran): Ran {
  const ran = action();
  timings.push(`${label}: ${ran.seconds}s`);
  return ran;
}

function release(version: string): Ran {
  return timed(`npm run release -- ${version}`, () =>
    run("npm", ["run", "release", "--", version], checkout, npmEnv(), { timeoutMs: 600_000 }),
  );
}

describe("releasing the toolbox and upgrading a fleet through a registry", () => {
  beforeAll(async () => {
    const uplink = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).stdout.trim();
    registry = await startRegistry({ uplink });
    privateNpmCache(npmCache);
    copyCheckout(repo, checkout);
    mkdirSync(fleetDir);
  }, 120_000);

  afterAll(async () => {
    console.log(`[release e2e] ${timings.join("; ")}`);
    await registry?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it(`releases ${A}: every package, built, to the registry npm is configured with`, () => {
    const released = release(A);
    expect(released.code, released.output).toBe(0);
    for (const pkg of ["config", "testing", "runtime", "conformance", "dashboard", "cli"]) {
      const view = run("npm", ["view", `@worker-toolbox/${pkg}@${A}`, "dist.tarball"], root, npmEnv());
      expect(view.stdout, view.output).toContain(registry.url);
    }
    const files = run("npm", ["view", `@worker-toolbox/cli@${A}`, "dependencies", "--json"], root, npmEnv());
    expect(JSON.parse(files.stdout)).toMatchObject({
      "@worker-toolbox/runtime": A,
      "@worker-toolbox/config": A,
    });
    expect(readFileSync(join(checkout, "CHANGELOG.md"), "utf8")).toMatch(
      new RegExp(`## ${A} — \\d{4}-\\d\\d-\\d\\d`),
    );
  }, 600_000);

  it("creates three services with the published CLI: one answering the prompts on a terminal, two with flags", () => {
    // A person at a terminal, answers typed ahead from a file; `script` gives npm exec a pseudo-terminal.
    const { CI: _ci, ...terminalEnv } = npmEnv();
    const answers = `${names[0]}\nexport_orders\nExports orders for finance.\n`;
    const command = `npm exec --yes --package=@worker-toolbox/cli@${A} -- worker-toolbox new`;
    const interactive = timed("worker-toolbox new on a terminal", () =>
      run("script", ["-qefc", command, "/dev/null"], fleetDir, terminalEnv, { input: answers }),
    );
    expect(interactive.code, interactive.output).toBe(0);
    expect(interactive.stdout).toContain(
      `Toolbox: @worker-toolbox/* ${A}, pinned exactly, from the registry`,
    );
    for (const [name, task] of [
      [names[1], "sync_stock"],
      [names[2], "ship_parcel"],
    ] as const) {
      const created = toolbox(A, ["new", name, "--task", task, "--description", `Service ${name}.`]);
      expect(created.code, created.output).toBe(0);
      expect(created.stdout).toMatch(/Next:\n {2}cd \S+\n {2}npm install\n {2}npm test\n {2}npm run dev\n/);
    }
    for (const name of names) {
      const pkg = JSON.parse(read(name, "package.json"));
      expect(pkg.dependencies["@worker-toolbox/runtime"]).toBe(A);
      expect(pkg.devDependencies["@worker-toolbox/cli"]).toBe(A);
    }
    expect(read(names[0], "src/tasks/export-orders.ts")).toContain(`name: "${names[0]}.export_orders.v1"`);
  }, 300_000);

  it("installs each service from the registry", () => {
    for (const name of names) {
      const installed = timed(`npm install ${name}`, () =>
        run("npm", ["install", "--prefer-offline"], dir(name), npmEnv()),
      );
      expect(installed.code, installed.output).toBe(0);
      expect(versionOf(join(dir(name), "node_modules/@worker-toolbox/runtime/package.json"))).toBe(A);
    }
  }, 600_000);

  it("passes npm test on a fresh service without AMQP_URL or DATABASE_URL: it starts its own servers", () => {
    const { AMQP_URL: _a, DATABASE_URL: _d, RABBITMQ_MANAGEMENT_URL: _m, ...env } = npmEnv();
    const tested = timed("npm test (fresh, own servers)", () => run("npm", ["test"], dir(names[0]), env));
    expect(tested.code, tested.output).toBe(0);
    expect(tested.output).toMatch(/conformance\.int\.test\.ts/);
    expect(tested.output).not.toMatch(/\d+ failed/);
  }, 600_000);

  it(`edits the services as their teams would, then releases ${B} with a template and a runtime change`, () => {
    const [a, b, c] = names;
    edit(a, "src/handlers/export-orders.ts", (text) => text.replace('"processing"', '"exporting orders"'));
    edit(a, "README.md", (text) => `${text}\n## Runbook\n\nPage the orders team.\n`);
    const added = run("npm", ["install", "--prefer-offline", "ms@^2.1.3"], dir(b), npmEnv());
    expect(added.code, added.output).toBe(0);
    edit(b, "Dockerfile", (text) => `${text}LABEL team="stock"\n`);
    edit(c, "Dockerfile", (text) =>
      text.replace("FROM node:20-slim AS build", "FROM node:20-alpine AS build"),
    );
    // Edits of managed files made on purpose are declared, so the services' CI check stays green.
    edit(a, ".worker-toolbox.json", (text) =>
      text.replace('"customized": []', '"customized": ["README.md"]'),
    );
    edit(b, ".worker-toolbox.json", (text) =>
      text.replace('"customized": []', '"customized": ["Dockerfile"]'),
    );

    const dockerfile = join(checkout, "templates/worker/Dockerfile");
    const template = readFileSync(dockerfile, "utf8");
    expect(template).toContain("FROM node:20-slim AS build");
    writeFileSync(
      dockerfile,
      template.replace("FROM node:20-slim AS build", "FROM node:20-bookworm-slim AS build"),
    );
    const runtimeIndex = join(checkout, "packages/runtime/src/index.ts");
    writeFileSync(
      runtimeIndex,
      `${readFileSync(runtimeIndex, "utf8")}\n/** Added by the release test's second version. */\nexport const RELEASE_TEST_MARKER = "${B}";\n`,
    );
    writeFileSync(
      join(checkout, "CHANGELOG.md"),
      readFileSync(join(checkout, "CHANGELOG.md"), "utf8").replace(
        "## Unreleased\n",
        "## Unreleased\n\n- The build stage runs on node:20-bookworm-slim.\n",
      ),
    );
    const released = release(B);
    expect(released.code, released.output).toBe(0);
    const changelog = readFileSync(join(checkout, "CHANGELOG.md"), "utf8");
    expect(changelog).toContain(`Compared with the template of the published ${A}:`);
    expect(changelog).toContain("`Dockerfile` (managed): changed; `upgrade` three-way merges the change");
  }, 600_000);

  it(`shows all three services behind ${B} in the fleet`, () => {
    const fleet = toolbox(B, ["fleet", ...names, "--json"]);
    expect(fleet.code, fleet.output).toBe(1);
    const entries = JSON.parse(fleet.stdout);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        toolbox: { pinned: A, installed: A, latest: B },
        template: { version: A },
      });
      expect(entry.status).toContain("behind");
    }
    expect(entries[2].wouldConflict).toEqual(["Dockerfile"]);
  }, 300_000);

  it(`keeps a replica of ${names[0]} on ${A}, as a rolling redeploy leaves one running`, () => {
    const copied = run("cp", ["-a", dir(names[0]), replicaA], root, process.env);
    expect(copied.code, copied.output).toBe(0);
    expect(versionOf(join(replicaA, "node_modules/@worker-toolbox/runtime/package.json"))).toBe(A);
  });

  it(`upgrades ${names[0]} to ${B} with its own ${A} CLI (npx inside it): the command is handed to ${B}'s CLI`, () => {
    // What a team does inside its service: the installed CLI is the old one, the template must be the new one's.
    const handed = timed(`npx worker-toolbox upgrade --to ${B} (${A}'s CLI)`, () =>
      run("npx", ["worker-toolbox", "upgrade", "--to", B, "--install", "--test", "--json"], dir(names[0]), {
        ...npmEnv(),
        ...serverEnv(),
      }),
    );
    expect(handed.code, handed.output).toBe(0);
    expect(handed.output).toContain(
      `worker-toolbox upgrade --to ${B}: running that version's CLI (npm exec --yes --package=@worker-toolbox/cli@${B} -- worker-toolbox upgrade . --to ${B} --json --install --test)`,
    );
    const [a] = JSON.parse(handed.stdout);
    expect(a).toMatchObject({ from: { toolbox: A }, to: { toolbox: B }, conflicts: [] });
    expect(a.steps.install.code, a.steps.install.tail).toBe(0);
    expect(a.steps.test.code, a.steps.test.tail).toBe(0);
    // B's template was merged (A's CLI alone would have pinned B over A's template).
    expect(read(names[0], "Dockerfile")).toContain("FROM node:20-bookworm-slim AS build");
    expect(JSON.parse(read(names[0], ".worker-toolbox.json"))).toMatchObject({
      template: { version: B },
      toolboxVersion: B,
    });
    expect(versionOf(join(dir(names[0]), "node_modules/@worker-toolbox/cli/package.json"))).toBe(B);
  }, 900_000);

  it(`upgrades the rest of the fleet to ${B}, installing and testing each; the conflict is reported and stops only its service`, () => {
    const rest = names.slice(1);
    const upgraded = toolbox(B, ["upgrade", ...rest, "--to", B, "--install", "--test", "--json"], fleetDir, {
      ...npmEnv(),
      ...serverEnv(),
    });
    expect(upgraded.code, upgraded.output).toBe(1);
    const [b, c] = JSON.parse(upgraded.stdout);
    expect(b.conflicts, upgraded.output).toEqual([]);
    expect(b.steps.install.code, b.steps.install.tail).toBe(0);
    expect(b.steps.test.code, b.steps.test.tail).toBe(0);
    expect(c).toMatchObject({
      status: "conflicts",
      conflicts: ["Dockerfile"],
      steps: { skipped: expect.any(String) },
    });

    // The teams' edits are kept; the template change and the runtime change arrived.
    expect(read(names[0], "src/handlers/export-orders.ts")).toContain('"exporting orders"');
    expect(read(names[0], "README.md")).toContain("Page the orders team.");
    expect(JSON.parse(read(names[1], "package.json")).dependencies).toMatchObject({
      ms: "^2.1.3",
      "@worker-toolbox/runtime": B,
    });
    expect(read(names[1], "Dockerfile")).toMatch(
      /FROM node:20-bookworm-slim AS build[\s\S]*LABEL team="stock"\n$/,
    );
    expect(read(names[2], "Dockerfile")).toContain(
      `<<<<<<< yours\nFROM node:20-alpine AS build\n=======\nFROM node:20-bookworm-slim AS build\n>>>>>>> template ${B}\n`,
    );
    expect(read(names[0], "node_modules/@worker-toolbox/runtime/dist/index.js")).toContain(`"${B}"`);
  }, 900_000);

  it("shows two services current and one conflicted afterwards", () => {
    const fleet = toolbox(B, ["fleet", ...names]);
    expect(fleet.code, fleet.output).toBe(1);
    expect(fleet.stdout).toMatch(
      new RegExp(`${names[0]}\\s+\\S+\\s+${B}\\s+${B}\\s+${B}\\s+current\\s+-\\s+-\\s+current\\n`),
    );
    expect(fleet.stdout).toMatch(
      new RegExp(`${names[1]}\\s+\\S+\\s+${B}\\s+${B}\\s+${B}\\s+current\\s+-\\s+-\\s+current\\n`),
    );
    expect(fleet.stdout).toMatch(new RegExp(`${names[2]}\\s.*Dockerfile.*conflicted`));
    const check = toolbox(B, ["upgrade", "--check"], dir(names[2]));
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/conflicted/);
  }, 300_000);

  it(`runs ${names[0]}'s ${A} and ${B} workers side by side on one queue: every task of both producers SUCCESS once, read by both`, async () => {
    // A rolling upgrade midway: the replica still on A, the upgraded directory on B, one service queue. A and B
    // are this checkout released twice (B adds a template change and an exported constant): this proves the
    // install-and-run path of two releases and their co-existence on one queue, not a change of the wire format.
    const releases = [
      { version: A, dir: replicaA },
      { version: B, dir: dir(names[0]) },
    ];
    for (const { version, dir: at } of releases) {
      expect(versionOf(join(at, "node_modules/@worker-toolbox/runtime/package.json"))).toBe(version);
    }
    const started = Date.now();
    // The team's handler logs "exporting orders" once per run (edited above).
    const both = await runSideBySide(releases, testServers(), npmEnv(), {
      count: 12,
      handlerLine: "exporting orders",
    });
    timings.push(`${A} and ${B} side by side: ${Math.round((Date.now() - started) / 1000)}s`);
    const ids = both.sent.flat();
    expect(new Set(ids).size).toBe(24);
    // Each release read every row, its own producer's and the other's, alike.
    expect(both.reads[1]).toEqual(both.reads[0]);
    expect(both.reads[0]!.map((task) => task.status)).toEqual(ids.map(() => "SUCCESS"));
    expect(both.reads[0]!.map((task) => task.value?.id)).toEqual(
      [A, B].flatMap((version) => Array.from({ length: 12 }, (_, i) => `from-${version}-${i}`)),
    );
    // Exactly once: one handler run per task across both workers. Each release's worker ran tasks of both
    // producers (one queue, dispatched in turn: prefetch 20 > 12) and stored the rows of the tasks it ran.
    expect(both.ran.flat().sort(), both.output).toEqual([...ids].sort());
    for (const [index, pid] of both.pids.entries()) {
      for (const sent of both.sent) {
        expect(both.ran[index]!.filter((id) => sent.includes(id)).length, both.output).toBeGreaterThan(0);
      }
      const stored = both.reads[0]!.filter((task) => task.worker?.includes(`-${pid}@`));
      expect(stored.map((task) => task.id).sort()).toEqual([...both.ran[index]!].sort());
    }
    expect(both.platformCopies).toBe(24);
    expect(both.exitCodes, both.output).toEqual([0, 0]);
  }, 300_000);

  it(`refuses, with ${A}'s CLI, --to ${B} when WORKER_TOOLBOX_DELEGATED leaked into the environment: exit 2, nothing written`, () => {
    // The replica still on A. A leaked marker used to make A's CLI pin B over A's template and exit 0.
    const before = ["package.json", ".worker-toolbox.json", "Dockerfile"].map((path) =>
      readFileSync(join(replicaA, path), "utf8"),
    );
    const leaked = run("npx", ["worker-toolbox", "upgrade", "--to", B], replicaA, {
      ...npmEnv(),
      WORKER_TOOLBOX_DELEGATED: "1",
    });
    expect(leaked.code, leaked.output).toBe(2);
    expect(leaked.output).toContain(
      `error GENERATOR_HANDOFF_REFUSED: worker-toolbox upgrade --to ${B} needs the ${B} CLI (this one is ${A}), but WORKER_TOOLBOX_DELEGATED=1 is set`,
    );
    expect(leaked.output).toContain("fix: unset WORKER_TOOLBOX_DELEGATED");
    expect(
      ["package.json", ".worker-toolbox.json", "Dockerfile"].map((path) =>
        readFileSync(join(replicaA, path), "utf8"),
      ),
    ).toEqual(before);
  }, 120_000);

  it("runs the generated CI workflow as written, step by step, on an upgraded service", () => {
    const servers = serverEnv();
    const started = Date.now();
    const workflow = runWorkflowJob(join(dir(names[0]), ".github/workflows/ci.yml"), "test", {
      cwd: dir(names[0]),
      env: npmEnv(),
      services: {
        rabbitmq: {
          AMQP_URL: servers.AMQP_URL!,
          ...(servers.RABBITMQ_MANAGEMENT_URL
            ? { RABBITMQ_MANAGEMENT_URL: servers.RABBITMQ_MANAGEMENT_URL }
            : {}),
        },
        postgres: { DATABASE_URL: servers.DATABASE_URL! },
      },
    });
    timings.push(`CI workflow: ${Math.round((Date.now() - started) / 1000)}s`);
    const summary = workflow.steps
      .map((step) => `${step.name}: exit ${step.code} (${step.seconds}s)`)
      .join("\n");
    expect(workflow.ok, `${summary}\n${workflow.steps.at(-1)?.output}`).toBe(true);
    expect(workflow.steps.map((step) => step.name)).toEqual([
      "actions/checkout@v4",
      "actions/setup-node@v4",
      "npm ci",
      "npm run typecheck",
      "npm test",
      "Toolbox template is current",
    ]);
    expect(existsSync(join(dir(names[0]), "node_modules/.package-lock.json"))).toBe(true);
  }, 600_000);
});
