import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RegistryServer, startRegistry } from "@worker-toolbox/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The throwaway registry the release tests publish to: a real Verdaccio on loopback. The toolbox scope is
 * served only from it; other packages come through the uplink that `npm config get registry` names.
 */
const root = mkdtempSync(join(tmpdir(), "wt-registry-test-"));
let registry: RegistryServer;

function npm(args: string[], cwd: string) {
  const result = spawnSync("npm", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NPM_CONFIG_USERCONFIG: registry.npmrc, npm_config_registry: registry.url },
    timeout: 120_000,
  });
  return { code: result.status, output: `${result.stdout}\n${result.stderr}` };
}

function packageDir(name: string, version: string, dependencies: Record<string, string> = {}): string {
  const dir = join(root, `${name.replace("/", "+")}-${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version, dependencies }));
  writeFileSync(join(dir, "index.js"), `export const version = ${JSON.stringify(version)};\n`);
  return dir;
}

describe("the test registry (Verdaccio)", () => {
  beforeAll(async () => {
    const uplink = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).stdout.trim();
    registry = await startRegistry({ uplink });
  }, 90_000);
  afterAll(async () => {
    await registry?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("publishes a toolbox package and installs it, with a third-party dependency through the uplink", () => {
    const published = npm(
      ["publish"],
      packageDir("@worker-toolbox/registry-probe", "1.0.0", { ms: "^2.1.0" }),
    );
    expect(published.code, published.output).toBe(0);
    const consumer = join(root, "consumer");
    mkdirSync(consumer);
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    const installed = npm(
      ["install", "@worker-toolbox/registry-probe@1.0.0", "--no-audit", "--no-fund"],
      consumer,
    );
    expect(installed.code, installed.output).toBe(0);
    const probe = JSON.parse(
      readFileSync(join(consumer, "node_modules/@worker-toolbox/registry-probe/package.json"), "utf8"),
    );
    expect(probe.version).toBe("1.0.0");
    // The lockfile may omit `resolved` (omit-lockfile-registry-resolved): Verdaccio's storage shows the source.
    expect(existsSync(join(registry.dir, "storage", "ms", "package.json"))).toBe(true);
    expect(existsSync(join(consumer, "node_modules/ms/package.json"))).toBe(true);
  }, 120_000);

  it("never proxies the toolbox scope: an unpublished toolbox package is a 404, not the uplink's", () => {
    const view = npm(["view", "@worker-toolbox/cli", "version"], root);
    expect(view.code).not.toBe(0);
    expect(view.output).toMatch(/E404|404 Not Found/);
  });

  it("refuses a publish without the token", () => {
    const dir = packageDir("@worker-toolbox/registry-probe", "1.0.1");
    const anonymous = join(root, "anonymous-npmrc");
    writeFileSync(anonymous, `registry=${registry.url}\n`);
    const result = spawnSync("npm", ["publish"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NPM_CONFIG_USERCONFIG: anonymous, npm_config_registry: registry.url },
    });
    expect(result.status, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(/ENEEDAUTH|E401|E403/);
  });
});
