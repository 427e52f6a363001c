import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
const write = (path: string, text: string) => writeFileSync(join(service, path), text);

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
      /Next:\n {2}cd e2e-orders\n {2}npm install\n {2}npm test\n {2}npx worker-toolbox db migrate\n {2}npm start/,
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

    const behind = run(process.execPath, [bin, "upgrade", service, "--check"], root);
    expect(behind.code, behind.output).toBe(1);
    const upgraded = run(process.execPath, [bin, "upgrade", service], root);
    expect(upgraded.code, upgraded.output).toBe(0);
    expect(upgraded.output).toMatch(/merged\s+src\/worker\.ts/);

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

  it("passes its own tests, the conformance suite included", () => {
    const servers = testServers();
    const env: Record<string, string> = { AMQP_URL: servers.amqpUrl, DATABASE_URL: servers.databaseUrl };
    if (servers.managementUrl) env.RABBITMQ_MANAGEMENT_URL = servers.managementUrl;
    const tests = run("npx", ["vitest", "run", "--reporter=verbose"], service, env);
    expect(tests.code, tests.output).toBe(0);
    expect(tests.output).toMatch(/e2e-orders worker conformance/);
    expect(tests.output).toMatch(/test\/export-orders\.test\.ts/);
  }, 600_000);
});
