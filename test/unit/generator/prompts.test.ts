import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "./support.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const tsx = join(root, "node_modules/.bin/tsx");
const main = join(root, "packages/cli/src/main.ts");

/**
 * `worker-toolbox new` on a real terminal: util-linux `script` gives the CLI a pseudo-terminal, so it asks
 * its questions; `input` is what a person types (or pastes, all at once, ahead of the questions).
 */
function newOnTerminal(cwd: string, input: string) {
  const { CI: _ci, ...env } = process.env;
  const command = `cd '${cwd}' && '${tsx}' --conditions=@worker-toolbox/source '${main}' new`;
  const run = spawnSync("script", ["-qefc", command, "/dev/null"], {
    input,
    env,
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // When `script` did not exit by itself (a signal, the timeout), say how, with what it printed.
  const how = `exit ${run.status}, signal ${run.signal}, error ${run.error?.message ?? "none"}:\n${run.stdout}`;
  return { code: run.status, output: run.stdout, how };
}

/** `new` on a pseudo-terminal, typing each answer once its question shows; resolves with the exit code. */
async function onTerminalTyping(cwd: string, script: ReadonlyArray<readonly [prompt: string, keys: string]>) {
  const { CI: _ci, ...env } = process.env;
  const command = `cd '${cwd}' && '${tsx}' --conditions=@worker-toolbox/source '${main}' new`;
  const child = spawn("script", ["-qefc", command, "/dev/null"], { env, stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  let next = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    while (next < script.length && output.includes(script[next]![0])) child.stdin.write(script[next++]![1]);
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, output };
}

describe("worker-toolbox new on a terminal", () => {
  it("asks for what is missing, re-asks a bad answer, and keeps answers typed ahead", () => {
    const cwd = tempDir();
    const { code, output, how } = newOnTerminal(cwd, "Bad_Name\norder-export\n\nExports orders.\n");
    expect(output).toContain("Service name (lower kebab-case)");
    expect(output).toContain('"Bad_Name": it must be lower kebab-case');
    expect(code, how).toBe(0);
    const pkg = JSON.parse(readFileSync(join(cwd, "order-export/package.json"), "utf8")) as {
      name: string;
      description: string;
    };
    expect(pkg).toMatchObject({ name: "order-export", description: "Exports orders." });
    // The empty answer took the default first task.
    expect(existsSync(join(cwd, "order-export/src/tasks/process.ts"))).toBe(true);
  }, 90_000);

  it("input that ends before the last answer is a usage error (exit 2) and writes nothing", async () => {
    const cwd = tempDir();
    // Ctrl+D typed at the second question: \`script\` cannot pass the end of its own input to a terminal in
    // raw mode (readline's), so the person's keystroke is what ends the input here.
    const { code, output } = await onTerminalTyping(cwd, [
      ["Service name", "order-export\n"],
      ["First task", "\u0004"],
    ]);
    expect(output).toContain(
      "error GENERATOR_INVALID_INPUT: The input ended before every question was answered.",
    );
    expect(code, output).toBe(2);
    expect(existsSync(join(cwd, "order-export"))).toBe(false);
  }, 90_000);

  it("Ctrl+C at a question exits 130 and writes nothing", async () => {
    const cwd = tempDir();
    // What the terminal sends for Ctrl+C while the question waits.
    const { code, output } = await onTerminalTyping(cwd, [["Service name", "\u0003"]]);
    expect(code, output).toBe(130);
    expect(existsSync(join(cwd, "order-export"))).toBe(false);
  }, 90_000);
});
