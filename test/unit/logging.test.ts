import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseConfig, ToolboxError } from "@worker-toolbox/config";
import { createLogger, reportFatal, resolveLogFormat } from "@worker-toolbox/runtime";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = "test/fixtures/logging/startup.ts";
const node = `node --import tsx --conditions=@worker-toolbox/source ${fixture}`;

/** A stream that keeps what is written; `isTTY` as a terminal would say. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (text: string) => chunks.push(text) > 0 };
}

/** The fixture on a pseudo-terminal (util-linux `script`): stdout and stderr together, as a person sees them. */
function onTerminal(env: string) {
  const run = spawnSync("script", ["-qefc", `env ${env} NO_COLOR=1 ${node}`, "/dev/null"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: run.status, output: run.stdout.replace(/\r\n/g, "\n") };
}

/** The fixture with stdout and stderr piped (a container, a log shipper). */
function piped(env: Record<string, string>) {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--conditions=@worker-toolbox/source", fixture],
    {
      cwd: root,
      env: { PATH: process.env.PATH, ...env },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("log format", () => {
  it("auto is readable on a terminal outside production, JSON everywhere else", () => {
    expect(resolveLogFormat("auto", "development", true)).toBe("pretty");
    expect(resolveLogFormat("auto", "test", true)).toBe("pretty");
    expect(resolveLogFormat("auto", "development", false)).toBe("json");
    expect(resolveLogFormat("auto", "production", true)).toBe("json");
    expect(resolveLogFormat("pretty", "production", false)).toBe("pretty");
    expect(resolveLogFormat("json", "development", true)).toBe("json");
  });

  it("createLogger writes JSON lines or readable lines to its destination", () => {
    const config = parseConfig({ mode: "development" });
    const terminal = sink(true);
    createLogger(config, { destination: terminal, base: { service: "billing" } }).info(
      { component: "worker", taskId: "t-1" },
      "task succeeded",
    );
    expect(terminal.chunks).toHaveLength(1);
    expect(terminal.chunks[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*\[billing\] worker: task succeeded.* .*\{"taskId":"t-1"\}/,
    );

    const pipe = sink(false);
    createLogger(config, { destination: pipe }).info({ taskId: "t-1" }, "task succeeded");
    expect(JSON.parse(pipe.chunks[0] ?? "")).toMatchObject({
      level: 30,
      taskId: "t-1",
      msg: "task succeeded",
    });

    const forced = sink(true);
    createLogger({ ...config, logFormat: "json" }, { destination: forced }).info("x");
    expect(JSON.parse(forced.chunks[0] ?? "")).toMatchObject({ msg: "x" });
  });

  it("reportFatal prints a ToolboxError as one readable block, or one JSON line", () => {
    const error = new ToolboxError("DATABASE_NOT_MIGRATED", "The result table is missing.", {
      hint: "run `worker-toolbox db migrate`",
      cause: new Error("relation does not exist"),
    });
    const terminal = sink(true);
    reportFatal(error, { env: {}, stderr: terminal });
    expect(terminal.chunks.join("")).toBe(
      "error DATABASE_NOT_MIGRATED: The result table is missing.\n" +
        "  fix: run `worker-toolbox db migrate`\n" +
        "  cause: relation does not exist\n",
    );

    const stdout = sink(false);
    reportFatal(error, { env: {}, stderr: sink(false), stdout });
    expect(stdout.chunks).toHaveLength(1);
    expect(JSON.parse(stdout.chunks[0] ?? "")).toMatchObject({
      level: 60,
      code: "DATABASE_NOT_MIGRATED",
      hint: "run `worker-toolbox db migrate`",
      cause: { message: "relation does not exist" },
    });
  });

  it("JSON: a ToolboxError's ToolboxError cause keeps its code and fix (the broker's, under a refused send)", () => {
    const unreachable = new ToolboxError("BROKER_UNAVAILABLE", "No connection to RabbitMQ yet.", {
      hint: "check that the broker is running",
    });
    const refused = new ToolboxError(
      "PUBLISH_CIRCUIT_OPEN",
      "The broker is unavailable (No connection to RabbitMQ yet.)",
      {
        cause: unreachable,
        hint: "retry later",
      },
    );
    const stdout = sink(false);
    reportFatal(refused, { env: {}, stderr: sink(false), stdout });
    expect(JSON.parse(stdout.chunks[0] ?? "")).toMatchObject({
      code: "PUBLISH_CIRCUIT_OPEN",
      hint: "retry later",
      cause: {
        code: "BROKER_UNAVAILABLE",
        hint: "check that the broker is running",
        message: "No connection to RabbitMQ yet.",
      },
    });
    // A cause the message already says is not repeated.
    const said = new ToolboxError("CONFIG_INVALID", "bad: boom", { cause: new Error("boom") });
    const again = sink(false);
    reportFatal(said, { env: {}, stderr: sink(false), stdout: again });
    expect(JSON.parse(again.chunks[0] ?? "")).not.toHaveProperty("cause");
  });
});

describe("a service's start-up (installCrashReporter + createLogger, as the template writes it)", () => {
  it("on a terminal in development: readable log lines", () => {
    const { code, output } = onTerminal("WT_MODE=development");
    expect(code, output).toBe(0);
    expect(output).toMatch(
      /\] INFO: \[billing\] task succeeded \{"task":"billing.process","taskId":"6f1c2d7e"\}\n/,
    );
    expect(output).toMatch(/\] WARN: \[billing\] worker: broker unavailable, retrying \{"attempt":2\}\n/);
    expect(output).not.toContain('"level"');
  }, 60_000);

  it("on a terminal, a bad setting is one readable error with its fix and exit 1: no stack, no object dump", () => {
    const { code, output } = onTerminal("WT_MODE=development WT_WORKER_CONCURRENCY=abc");
    expect(code).toBe(1);
    expect(output).toBe(
      "error CONFIG_INVALID: Invalid configuration (mode development): 1 problem\n" +
        '  - worker.concurrency (WT_WORKER_CONCURRENCY): expected number, received string; got "abc" ' +
        "[from env WT_WORKER_CONCURRENCY]; example: WT_WORKER_CONCURRENCY=8\n" +
        "  fix: set the variables above (see docs/config.md); values shown are masked\n",
    );
  }, 60_000);

  it("piped in production: every line JSON, the crash one fatal line on stdout, nothing on stderr", () => {
    const { code, stdout, stderr } = piped({ WT_MODE: "production" });
    expect(code).toBe(1);
    expect(stderr).toBe("");
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: 60, code: "CONFIG_INVALID" });
  }, 60_000);

  it("piped, a bug after start-up: the log lines, then one fatal line carrying the stack", () => {
    const { code, stdout, stderr } = piped({ WT_MODE: "development", FIXTURE_CRASH: "boom" });
    expect(code).toBe(1);
    expect(stderr).toBe("");
    const lines = stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.msg)).toEqual([
      "task succeeded",
      "broker unavailable, retrying",
      "crashed: boom",
    ]);
    expect(lines[2]).toMatchObject({ level: 60, err: { type: "Error", message: "boom" } });
    expect(lines[2].err.stack).toContain("startup.ts");
  }, 60_000);
});
