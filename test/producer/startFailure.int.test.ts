import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestNamespace, deleteNamespace, getFreePort } from "@worker-toolbox/testing";
import { afterAll, describe, expect, it } from "vitest";
import { testServers } from "../support/servers.js";

/**
 * A producer that cannot start reports it once: a script under the crash reporter (the fatal line) and
 * `worker-toolbox send` (its error), never the broker connection's line and the producer's state line as
 * well. Real processes against the test broker: a wrong password (failed for good) and a port nothing
 * listens on (broker down: the connection's attempt lines are progress, not the report).
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const prefix = createTestNamespace("producer-start");
const typescript = ["--import", "tsx", "--conditions=@worker-toolbox/source"];

afterAll(async () => {
  const { managementUrl } = testServers();
  if (managementUrl) await deleteNamespace(managementUrl, prefix);
});

function wrongPassword(): string {
  const url = new URL(testServers().amqpUrl);
  url.password = "wrong-secret-17";
  return url.toString();
}

/** Run `args` with Node from the repository root, piped, in production mode (every log line is JSON). */
function node(args: string[], env: Record<string, string>) {
  const ran = spawnSync(process.execPath, [...typescript, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, WT_MODE: "production", WT_ENVIRONMENT_PREFIX: prefix, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  const output = `${ran.stdout}${ran.stderr}`;
  return { code: ran.status, output, lines: output.split("\n").filter(Boolean) };
}

const script = (env: Record<string, string>) => node(["test/fixtures/producer/startup.ts"], env);
const send = (env: Record<string, string>) =>
  node(["packages/cli/src/main.ts", "send", "orders.ship.v1", "order-1"], env);

/** The lines that report the failure: every line naming it but the connection's retry attempts. */
const reporting = (lines: string[], names: RegExp) =>
  lines.filter((line) => names.test(line) && !line.includes('"msg":"broker unavailable, retrying"'));

describe("a producer that cannot start", () => {
  it("starts and sends with the right password (the fixture's control)", () => {
    const ran = script({ AMQP_URL: testServers().amqpUrl });
    expect(ran.code, ran.output).toBe(0);
    expect(ran.output).toContain('"msg":"sent"');
  }, 60_000);

  for (const wait of ["send", "ready"]) {
    it(`a wrong password, awaiting ${wait}: one fatal line with code and fix, no other line naming it`, () => {
      const ran = script({ AMQP_URL: wrongPassword(), FIXTURE_AWAIT: wait });
      expect(ran.code, ran.output).toBe(1);
      const naming = reporting(ran.lines, /BROKER_AUTH_FAILED|ACCESS_REFUSED/);
      expect(naming, ran.output).toHaveLength(1);
      expect(JSON.parse(naming[0]!)).toMatchObject({
        level: 60,
        code: "BROKER_AUTH_FAILED",
        hint: expect.stringContaining("AMQP_URL"),
      });
      expect(ran.output).not.toContain("wrong-secret-17");
    }, 60_000);
  }

  it("the broker down: the attempts, then one fatal line naming the broker and the fix", async () => {
    const ran = script({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${await getFreePort()}/` });
    expect(ran.code, ran.output).toBe(1);
    const naming = reporting(ran.lines, /RabbitMQ at/);
    expect(naming, ran.output).toHaveLength(1);
    expect(JSON.parse(naming[0]!)).toMatchObject({ level: 60, code: "PUBLISH_CIRCUIT_OPEN" });
    expect(naming[0]).toContain("check that the broker is running");
  }, 60_000);

  it("worker-toolbox send, a wrong password: exit 1 and its error, once", () => {
    const ran = send({ AMQP_URL: wrongPassword() });
    expect(ran.code, ran.output).toBe(1);
    const naming = ran.lines.filter((line) => line.includes("BROKER_AUTH_FAILED"));
    expect(naming, ran.output).toEqual([
      expect.stringMatching(/^error BROKER_AUTH_FAILED: .*refused the login/),
    ]);
  }, 60_000);

  it("worker-toolbox send, the broker down: exit 1 and its error, once", async () => {
    const ran = send({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${await getFreePort()}/` });
    expect(ran.code, ran.output).toBe(1);
    const reports = reporting(ran.lines, /^error |"level":(40|50|60)/);
    expect(reports, ran.output).toEqual([
      expect.stringMatching(/^error PUBLISH_CIRCUIT_OPEN: .*RabbitMQ at/),
    ]);
  }, 60_000);
});
