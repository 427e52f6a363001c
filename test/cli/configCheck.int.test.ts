import { createTestDatabase, type TestDatabase } from "@worker-toolbox/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";

/** `config check` logs in with the configured identities, and fails with the typed code when one is refused. */
let database: TestDatabase;

const withPassword = (url: string, password: string) => {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
};

beforeAll(async () => {
  database = await createTestDatabase(testServers().databaseUrl, "cfgcheck");
});

afterAll(async () => {
  await database?.drop();
});

const check = (env: Record<string, string>, ...flags: string[]) =>
  runCliCaptured(["config", "check", "--json", ...flags], { WT_ENVIRONMENT_PREFIX: "cfgcheck", ...env });

interface Login {
  target: string;
  ok: boolean;
  code?: string;
  detail: string;
}

describe("worker-toolbox config check logs in", () => {
  it("exits 0 when the broker and the database accept the configured identities", async () => {
    const result = await check({ AMQP_URL: testServers().amqpUrl, DATABASE_URL: database.url });
    expect(result.code, result.stderr).toBe(0);
    const { connections } = JSON.parse(result.stdout) as { connections: Login[] };
    expect(connections.map((c) => [c.target.split(" ")[0], c.ok])).toEqual([
      ["broker", true],
      ["database", true],
    ]);
    expect(connections[0]?.detail).toMatch(/^RabbitMQ \d+\.\d+/);
  });

  it("exits 1 with BROKER_AUTH_FAILED for a wrong broker password, never printing it", async () => {
    const result = await check({
      AMQP_URL: withPassword(testServers().amqpUrl, "Wrong-Pass-1"),
      DATABASE_URL: database.url,
    });
    expect(result.code).toBe(1);
    const { connections } = JSON.parse(result.stdout) as { connections: Login[] };
    expect(connections[0]).toMatchObject({ ok: false, code: "BROKER_AUTH_FAILED" });
    expect(connections[1]).toMatchObject({ ok: true });
    expect(result.stdout + result.stderr).not.toContain("Wrong-Pass-1");
  });

  it("names each failing node of a list and the database's refusal, in the table too", async () => {
    const node = new URL(testServers().amqpUrl);
    const closed = `amqp://guest:guest@127.0.0.1:1/${node.pathname.slice(1)}`;
    const result = await runCliCaptured(["config", "check"], {
      WT_ENVIRONMENT_PREFIX: "cfgcheck",
      AMQP_URL: `${testServers().amqpUrl},${closed}`,
      DATABASE_URL: withPassword(database.url, "Wrong-Db-Pass"),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ok +broker amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\//m);
    expect(result.stdout).toMatch(/^FAIL BROKER_UNAVAILABLE +broker amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\//m);
    expect(result.stdout).toMatch(/^FAIL DATABASE_UNAVAILABLE +database postgres/m);
    expect(result.stdout).toContain("2 of 3 logins failed.");
    expect(result.stdout).not.toContain("Wrong-Db-Pass");
  });

  it("a producer's check skips the database; --offline connects to nothing", async () => {
    const producer = await check(
      { AMQP_URL: testServers().amqpUrl, WT_MODE: "production" },
      "--role",
      "producer",
    );
    expect(producer.code, producer.stderr).toBe(0);
    const { connections } = JSON.parse(producer.stdout) as { connections: Login[] };
    expect(connections.map((c) => c.target.split(" ")[0])).toEqual(["broker"]);

    const offline = await check(
      { AMQP_URL: "amqp://guest:guest@127.0.0.1:1/", DATABASE_URL: database.url },
      "--offline",
    );
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).not.toHaveProperty("connections");
  });
});
