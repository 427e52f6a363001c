import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { testPool } from "../support/database.js";
import { createBrokerUser, deleteBrokerUser } from "../support/management.js";
import { testServers } from "../support/servers.js";

/**
 * The tracker's broker failure is reported once: `worker-toolbox track` that cannot log in prints its error
 * and nothing else naming it; a tracker that was consuming when its login stopped working (its broker user
 * deleted) logs one error line with the code and fix itself, since nobody awaits its start() any more.
 */
const servers = testServers();
const root = fileURLToPath(new URL("../..", import.meta.url));
const prefix = createTestNamespace("trk-failed");
const user = `wt-trk-${randomUUID().slice(0, 8)}`;
const password = "tracker-user-secret-3";
let database: TestDatabase;
let tracker: Tracker | undefined;

function brokerUrl(name: string, secret: string): string {
  const url = new URL(servers.amqpUrl);
  url.username = name;
  url.password = secret;
  return url.toString();
}

beforeAll(async () => {
  database = await createTestDatabase(servers.databaseUrl, "trk-failed");
  const pool = testPool({ connectionString: database.url, max: 1 });
  await migrate(pool, { schema: "public" });
  await pool.end();
  if (!servers.managementUrl) return;
  await createBrokerUser(servers.managementUrl, user, password);
});
afterAll(async () => {
  await tracker?.close();
  if (servers.managementUrl) {
    await deleteBrokerUser(servers.managementUrl, user);
    await deleteNamespace(servers.managementUrl, prefix);
  }
  await database?.drop();
});

describe("the tracker's broker failure, reported once", () => {
  it("worker-toolbox track with a wrong password: exit 1 and its error, nothing else naming it", () => {
    const ran = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=@worker-toolbox/source", "packages/cli/src/main.ts", "track"],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          AMQP_URL: brokerUrl("guest", "wrong-secret-29"),
          DATABASE_URL: database.url,
          WT_ENVIRONMENT_PREFIX: prefix,
        },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    const output = `${ran.stdout}${ran.stderr}`;
    expect(ran.status, output).toBe(1);
    const naming = output.split("\n").filter((line) => line.includes("BROKER_AUTH_FAILED"));
    expect(naming, output).toEqual([expect.stringMatching(/^error BROKER_AUTH_FAILED: .*refused the login/)]);
  }, 60_000);

  it.skipIf(!servers.managementUrl)(
    "a consuming tracker whose broker user is deleted logs one error line with the code and fix",
    async () => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
          done();
        },
      });
      const config = parseConfig({
        environment: { prefix },
        broker: { url: brokerUrl(user, password), reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 },
        database: { url: database.url },
        queue: { type: "classic" },
      });
      tracker = createTracker({ config, logger: pino({ level: "info" }, sink) });
      await tracker.start();
      // Deleting the user closes its connections; the reconnect is refused.
      await deleteBrokerUser(servers.managementUrl!, user);
      const deadline = Date.now() + 30_000;
      while (tracker.state !== "failed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const text = lines.map((line) => JSON.stringify(line));
      const naming = text.filter((line) => /BROKER_AUTH_FAILED|ACCESS_REFUSED/.test(line));
      expect(naming, text.join("\n")).toHaveLength(1);
      expect(JSON.parse(naming[0]!)).toMatchObject({
        level: 50,
        code: "BROKER_AUTH_FAILED",
        hint: expect.stringContaining("AMQP_URL"),
        msg: "tracker failed for good; only a restart can help",
      });
      expect(text.join("\n")).not.toContain(password);
    },
    60_000,
  );
});
