import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Type errors and lint findings fail the suite like any other test, so `npm test` is the one gate.
const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 240_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describe("static checks", () => {
  it("typechecks (tsc --noEmit, strict)", () => {
    const { status, output } = run(bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
    expect(output, "tsc reported errors").toBe("");
    expect(status).toBe(0);
  }, 240_000);

  it("typechecks the dashboard's browser script (checkJs, DOM types)", () => {
    const { status, output } = run(bin("tsc"), ["-p", "packages/dashboard/assets/tsconfig.json"]);
    expect(output, "tsc reported errors").toBe("");
    expect(status).toBe(0);
  }, 120_000);

  it("lints and formats clean (biome check)", () => {
    const { status, output } = run(bin("biome"), ["check", "--diagnostic-level=error", "."]);
    expect(status, output).toBe(0);
  }, 120_000);
});
