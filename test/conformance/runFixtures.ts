import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConformanceRunNames } from "@worker-toolbox/conformance";
import type { TestServers } from "../support/servers.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURE_CONFIG = "test/fixtures/services/vitest.config.ts";

export interface CaseResult {
  title: string;
  /** describe blocks inside the suite's outer block: "config", "routing", ... */
  group: string;
  status: "passed" | "failed" | "skipped";
  message: string;
}

export interface FixtureRun {
  /** By fixture directory name. */
  fixtures: Map<string, CaseResult[]>;
  /** File-level errors by fixture (a failing afterAll, i.e. cleanup, shows here). */
  fileErrors: Map<string, string>;
  /** What each fixture's run created (its start case's meta.conformanceRun), by fixture. */
  created: Map<string, ConformanceRunNames>;
  exitCode: number | null;
  durationMs: number;
  output: string;
}

interface JsonReport {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: {
      ancestorTitles: string[];
      title: string;
      status: string;
      failureMessages: string[];
      meta?: { conformanceRun?: ConformanceRunNames };
    }[];
  }[];
}

/**
 * Run the fixture services' conformance files in a child vitest (vitest inside vitest) with the JSON
 * reporter, and return every case's outcome per fixture. One child run for all fixtures: its two workers
 * run them in parallel, and vitest starts once.
 */
export async function runFixtures(servers: TestServers, filter: string[] = []): Promise<FixtureRun> {
  const dir = mkdtempSync(join(tmpdir(), "wt-conformance-"));
  const outputFile = join(dir, "report.json");
  const env: NodeJS.ProcessEnv = {};
  // The parent's VITEST_* variables would make the child think it is a worker of the parent run.
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("VITEST")) env[key] = value;
  env.AMQP_URL = servers.amqpUrl;
  env.DATABASE_URL = servers.databaseUrl;
  if (servers.managementUrl) env.RABBITMQ_MANAGEMENT_URL = servers.managementUrl;
  const started = Date.now();
  const args = [
    "vitest",
    "run",
    "--config",
    FIXTURE_CONFIG,
    "--reporter=json",
    `--outputFile=${outputFile}`,
    ...filter,
  ];
  const child = spawn("npx", ["--no-install", ...args], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const durationMs = Date.now() - started;
  try {
    let report: JsonReport;
    try {
      report = JSON.parse(readFileSync(outputFile, "utf8")) as JsonReport;
    } catch (error) {
      throw new Error(`the child vitest wrote no JSON report (exit ${exitCode}):\n${output.slice(-4_000)}`, {
        cause: error,
      });
    }
    const fixtures = new Map<string, CaseResult[]>();
    const fileErrors = new Map<string, string>();
    const created = new Map<string, ConformanceRunNames>();
    for (const file of report.testResults) {
      const name = basename(dirname(file.name));
      if (file.message) fileErrors.set(name, file.message);
      const names = file.assertionResults.find((result) => result.meta?.conformanceRun)?.meta?.conformanceRun;
      if (names) created.set(name, names);
      if (file.assertionResults.length === 0)
        throw new Error(
          `fixture ${name} registered no cases: ${file.message ?? ""}\n${output.slice(-4_000)}`,
        );
      fixtures.set(
        name,
        file.assertionResults.map((result) => ({
          title: result.title,
          group: result.ancestorTitles.at(-1) ?? "",
          status: result.status === "passed" || result.status === "failed" ? result.status : "skipped",
          message: result.failureMessages.join("\n"),
        })),
      );
    }
    return { fixtures, fileErrors, created, exitCode, durationMs, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
