import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineTask, parseConfig } from "@worker-toolbox/config";
import { createProducer } from "@worker-toolbox/runtime";
import { migrate } from "@worker-toolbox/runtime/results";
import { createTestDatabase } from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

/**
 * End to end, as a user would: the built `worker-toolbox` creates a service linked to this checkout,
 * an older template render is simulated with a user edit on top, `worker-toolbox upgrade` merges, and the
 * service installs, typechecks and passes its own tests — its conformance suite against the test servers.
 */
const repo = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repo, "packages/cli/bin/worker-toolbox.js");
const root = mkdtempSync(join(tmpdir(), "wt-e2e-"));
const service = join(root, "e2e-orders");

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, CI: "true", ...env },
    encoding: "utf8",
    timeout: 540_000,
  });
  const output = `$ ${command} ${args.join(" ")} (in ${cwd})\n${result.stdout}\n${result.stderr}`;
  return { code: result.status, output };
}

const read = (path: string) => readFileSync(join(service, path), "utf8");

const exportOrders = defineTask({
  name: "e2e-orders.export_orders.v1",
  args: z.tuple([z.string()]),
  result: z.object({ id: z.string(), processedAt: z.string() }),
});

/**
 * `npm run dev` in the service until a task it was sent shows its result; then Ctrl+C (to the terminal's
 * process group, as a person would). Times from the spawn.
 */
async function devRun(env: NodeJS.ProcessEnv, label: string) {
  const started = Date.now();
  const child = spawn("npm", ["run", "dev"], {
    cwd: service,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const seen = (pattern: RegExp, timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          clearInterval(timer);
          resolve(Date.now() - started);
        }
      };
      const timer = setInterval(check, 50);
      setTimeout(() => {
        clearInterval(timer);
        reject(new Error(`${label} dev run: no ${pattern} within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
    });
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const readyMs = await seen(/worker started/, 120_000);
    const amqpUrl = /dev: broker {3}(amqp:\/\/guest):\*\*\*(@127\.0\.0\.1:\d+\/)/.exec(output);
    const producer = createProducer({
      config: parseConfig({ mode: "development", broker: { url: `${amqpUrl?.[1]}:guest${amqpUrl?.[2]}` } }),
      contracts: [exportOrders],
      logger: pino({ level: "silent" }),
    });
    const receipt = await producer.send(exportOrders, [`order-${label}`]).finally(() => producer.close());
    const resultMs = await seen(
      new RegExp(`export_orders\\.v1 succeeded \\{"taskId":"${receipt.id}"`),
      60_000,
    );
    return { readyMs, resultMs, output };
  } finally {
    if (child.pid) process.kill(-child.pid, "SIGINT");
    await exited;
  }
}
const write = (path: string, text: string) => writeFileSync(join(service, path), text);

/** A handler test as services wrote them against the copied helper of an older template. */
const LEGACY_TEST = `import { describe, expect, it } from "vitest";
import { exportOrders } from "../src/handlers/export-orders.js";
import { exportOrdersTask } from "../src/tasks/export-orders.js";
import { testTaskContext } from "./support/taskContext.js";

describe("a test written against the copied helper", () => {
  it("sends a follow-up through the helper's context", async () => {
    const ctx = testTaskContext();
    const result = await exportOrders({ args: ["order-1"], kwargs: {} }, ctx);
    await ctx.send(exportOrdersTask, ["order-2"]);
    expect(result.id).toBe("order-1");
    expect(ctx.sent.map((sent) => [sent.name, sent.args])).toEqual([["e2e-orders.export_orders.v1", ["order-2"]]]);
  });
});
`;

describe("a generated service", () => {
  beforeAll(() => {
    const build = run("npm", ["run", "build"], repo);
    if (build.code !== 0) throw new Error(`building the toolbox failed:\n${build.output}`);
  }, 300_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is created by `worker-toolbox new` linked to this checkout", () => {
    const created = run(
      process.execPath,
      [bin, "new", "e2e-orders", "--task", "export_orders", "--toolbox-path", repo, "--dir", service],
      root,
    );
    expect(created.code, created.output).toBe(0);
    expect(created.output).toMatch(
      /Next:\n {2}cd e2e-orders\n {2}npm install\n {2}npm test\n {2}npm run dev/,
    );
    expect(created.output).toContain(
      `npm install: @worker-toolbox/* linked from the checkout ${repo.replace(/\/$/, "")}`,
    );
    expect(JSON.parse(read("package.json")).dependencies["@worker-toolbox/runtime"]).toBe(
      `file:${join(repo, "packages/runtime")}`,
    );
  });

  it("is upgraded from an older template render with a user edit in a managed file kept", () => {
    // What an older template rendered: a different comment in src/worker.ts, recorded as version 0.0.1.
    const current = read("src/worker.ts");
    const oldComment = "// Configuration comes from the environment.";
    const older = current.replace(/^\/\/ Settings come from the environment.*$/m, oldComment);
    expect(older).not.toBe(current);
    write(".worker-toolbox/base/src/worker.ts", older);
    const manifest = JSON.parse(read(".worker-toolbox.json"));
    manifest.template.version = "0.0.1";
    write(".worker-toolbox.json", JSON.stringify(manifest, null, 2));
    // The service's own edit, far from the template's change.
    write("src/worker.ts", `${older}logger.info("e2e-orders: custom startup line");\n`);
    // The older template copied its handler-test helper into the service; a test of the service's own uses it.
    const helper = readFileSync(
      new URL("../fixtures/generator/copiedTaskContext.ts.txt", import.meta.url),
      "utf8",
    );
    mkdirSync(join(service, ".worker-toolbox/base/test/support"), { recursive: true });
    mkdirSync(join(service, "test/support"), { recursive: true });
    write(".worker-toolbox/base/test/support/taskContext.ts", helper);
    write("test/support/taskContext.ts", helper);
    write("test/legacy-helper.test.ts", LEGACY_TEST);
    const withHelper = JSON.parse(read(".worker-toolbox.json"));
    withHelper.managedFiles.push("test/support/taskContext.ts");
    write(".worker-toolbox.json", JSON.stringify(withHelper, null, 2));

    const behind = run(process.execPath, [bin, "upgrade", service, "--check"], root);
    expect(behind.code, behind.output).toBe(1);
    const upgraded = run(process.execPath, [bin, "upgrade", service], root);
    expect(upgraded.code, upgraded.output).toBe(0);
    expect(upgraded.output).toMatch(/merged\s+src\/worker\.ts/);

    expect(upgraded.output).toMatch(/removed\s+test\/support\/taskContext\.ts/);
    expect(upgraded.output).toMatch(/rewritten\s+test\/legacy-helper\.test\.ts/);
    expect(read("test/legacy-helper.test.ts")).toContain('from "@worker-toolbox/testing";');

    const worker = read("src/worker.ts");
    expect(worker).toContain('logger.info("e2e-orders: custom startup line");');
    expect(worker).toMatch(/^\/\/ Settings come from the environment/m);
    expect(worker).not.toContain(oldComment);
  });

  it("installs and typechecks", () => {
    const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], service);
    expect(install.code, install.output).toBe(0);
    const typecheck = run("npx", ["tsc", "--noEmit"], service);
    expect(typecheck.code, typecheck.output).toBe(0);
  }, 600_000);

  it("its worker, given a wrong broker password, exits 1 at once with one fatal line naming the error and its fix, password masked", async () => {
    // user-pains §3: a misconfigured worker must fail, not hang retrying. A migrated database, so the
    // broker login is what fails.
    const database = await createTestDatabase(testServers().databaseUrl, "e2e-auth");
    const pool = testPool({ connectionString: database.url, max: 1 });
    try {
      await migrate(pool, { schema: "public" });
      const url = new URL(testServers().amqpUrl);
      url.password = "wrong-secret-42";
      const started = Date.now();
      const worker = spawnSync(process.execPath, ["--import", "tsx", "src/worker.ts"], {
        cwd: service,
        env: {
          ...process.env,
          AMQP_URL: url.toString(),
          DATABASE_URL: database.url,
          WT_ENVIRONMENT_PREFIX: "e2e-auth",
          WT_MODE: "production",
        },
        encoding: "utf8",
        timeout: 60_000,
      });
      const output = `${worker.stdout}${worker.stderr}`;
      expect(worker.status, output).toBe(1);
      expect(Date.now() - started).toBeLessThan(20_000);
      // Piped in production every line is JSON; the crash reporter's is the one fatal line (level 60).
      const fatal = output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { level: number; code?: string; hint?: string })
        .filter((line) => line.level === 60);
      expect(fatal, output).toEqual([
        expect.objectContaining({ code: "BROKER_AUTH_FAILED", hint: expect.stringContaining("AMQP_URL") }),
      ]);
      // And no other line repeats it, at any level (the connection's, the worker's state line).
      const naming = output.split("\n").filter((line) => /BROKER_AUTH_FAILED|ACCESS_REFUSED/.test(line));
      expect(naming, output).toHaveLength(1);
      expect(output).not.toContain("wrong-secret-42");
    } finally {
      await pool.end();
      await database.drop();
    }
  }, 120_000);

  it("npm run dev: a task's result on screen within 30 s on a machine with no server running, 10 s on restart", async () => {
    // A fresh per-user state: no dev server runs yet. Bounds are generous (a smoke check on a shared CI
    // machine); docs/development.md records the figures measured on a quiet one.
    const state = mkdtempSync(join(tmpdir(), "wt-dev-state-"));
    chmodSync(state, 0o755); // run as root, the PostgreSQL server (user postgres) keeps its data below it
    const { AMQP_URL: _a, DATABASE_URL: _d, RABBITMQ_MANAGEMENT_URL: _m, ...inherited } = process.env;
    const env = { ...inherited, XDG_STATE_HOME: state, CI: "true", NO_COLOR: "1" };
    try {
      const first = await devRun(env, "first");
      const second = await devRun(env, "second");
      console.log(
        `worker-toolbox dev: result on screen ${first.resultMs} ms after start (worker up at ${first.readyMs} ms); ` +
          `restart: result ${second.resultMs} ms (worker up at ${second.readyMs} ms)`,
      );
      expect(first.output).toMatch(
        /dev: broker {3}amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/ \(local dev server, started;/,
      );
      expect(first.output).toMatch(
        /dev: database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/worker_toolbox/,
      );
      expect(second.output).toContain("(local dev server, reused;");
      expect(first.resultMs).toBeLessThan(90_000);
      expect(second.resultMs).toBeLessThan(30_000);
    } finally {
      const stopped = run(
        process.execPath,
        [bin, "dev", "stop", "--purge"],
        service,
        env as Record<string, string>,
      );
      expect(stopped.code, stopped.output).toBe(0);
      rmSync(state, { recursive: true, force: true });
    }
  }, 300_000);

  it("passes its own tests, the conformance suite included", () => {
    const servers = testServers();
    const env: Record<string, string> = { AMQP_URL: servers.amqpUrl, DATABASE_URL: servers.databaseUrl };
    if (servers.managementUrl) env.RABBITMQ_MANAGEMENT_URL = servers.managementUrl;
    const tests = run("npx", ["vitest", "run", "--reporter=verbose"], service, env);
    expect(tests.code, tests.output).toBe(0);
    expect(tests.output).toMatch(/e2e-orders worker conformance/);
    expect(tests.output).toMatch(/test\/export-orders\.test\.ts/);
    // The test written against the copied helper runs on the kit after the upgrade moved it.
    expect(tests.output).toMatch(/legacy-helper\.test\.ts/);
    expect(tests.output).toMatch(/sends a follow-up through the helper's context/);
  }, 600_000);
});
