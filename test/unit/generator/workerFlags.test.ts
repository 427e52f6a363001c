import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generatedWorkerFlags } from "../../../bench/e2e/workerFlags.js";
import { loadTemplate, renderService, templatesRoot } from "../../../packages/cli/src/generator/index.js";
import { ANSWERS } from "./support.js";

/**
 * A generated service starts its worker with Node flags (`--max-semi-space-size=8`: docs/worker.md) in three
 * places, `npm start`, the Dockerfile and the systemd unit; the demo starts it the same way and the end-to-end
 * bench reads them from the start script (bench/e2e/workerFlags.ts) to run the worker as users run it.
 */
describe("the worker's Node flags", () => {
  const files = renderService(
    loadTemplate({ dir: join(templatesRoot(), "worker"), version: "0.1.0" }),
    ANSWERS,
  );
  const file = (path: string) => {
    const found = files.find((f) => f.path === path);
    if (!found) throw new Error(`${path} was not rendered`);
    return found.content;
  };
  const flagsOf = (command: string) => command.split(/\s+/).filter((word) => word.startsWith("--"));

  it("are the same in package.json's start script, the Dockerfile, the systemd unit, the demo and the bench", () => {
    const start = JSON.parse(file("package.json")).scripts.start as string;
    const fromStart = flagsOf(start.replace(/dist\/worker\.js.*/, ""));
    const cmd = /^CMD (\[.*\])$/m.exec(file("Dockerfile"))?.[1];
    const fromDocker = (JSON.parse(cmd ?? "[]") as string[]).filter((word) => word.startsWith("--"));
    const exec = /^ExecStart=(.*)$/m.exec(file(`deploy/${ANSWERS.service}.service`))?.[1] ?? "";
    const demo = readFileSync(new URL("../../../scripts/demo.ts", import.meta.url), "utf8");
    const spawned = /spawn\("node", (\[[^\]]*\])/.exec(demo)?.[1] ?? "[]";
    const fromDemo = (JSON.parse(spawned) as string[]).filter((word) => word.startsWith("--"));

    expect(fromStart).toEqual(["--max-semi-space-size=8"]);
    expect(fromDocker).toEqual(fromStart);
    expect(flagsOf(exec)).toEqual(fromStart);
    expect(fromDemo).toEqual(fromStart);
    expect(generatedWorkerFlags()).toEqual(fromStart);
  });
});
