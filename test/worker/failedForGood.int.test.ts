import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations } from "../fixtures/workers/tasks.js";
import { createBrokerUser, deleteBrokerUser } from "../support/management.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness } from "./harness.js";

/**
 * A worker failing to start is reported once, by whoever awaits start() (the generated service's crash
 * reporter: test/generator/generatedService). A worker that was running has no such caller, so when its
 * reconnect fails for good (its broker user deleted) the worker itself logs it: one error line with the
 * code and the fix, nothing else repeating it.
 */
const servers = testServers();
const user = `wt-lost-${randomUUID().slice(0, 8)}`;
const password = "lost-user-secret-7";
let h: Harness;
let worker: Worker | undefined;

beforeAll(async () => {
  h = await createHarness("failedforgood", servers);
  if (!servers.managementUrl) return;
  await createBrokerUser(servers.managementUrl, user, password);
});
afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
  if (servers.managementUrl) await deleteBrokerUser(servers.managementUrl, user);
  await h?.close();
});

describe.skipIf(!servers.managementUrl)("a running worker whose broker login stops working", () => {
  it("logs one error line naming the error and its fix, password masked", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const url = new URL(servers.amqpUrl);
    url.username = user;
    url.password = password;
    const config = { ...h.config, broker: { ...h.config.broker, url: url.toString() } };
    worker = createWorker({ config, tasks: implementations, logger: pino({ level: "info" }, sink) });
    await worker.start();
    const failed = new Promise((resolve) =>
      worker!.on("state", (state) => state === "failed" && resolve(state)),
    );
    // Deleting the user closes its connections; the reconnect is refused.
    await deleteBrokerUser(servers.managementUrl!, user);
    await failed;
    const text = lines.map((line) => JSON.stringify(line));
    const naming = text.filter((line) => /BROKER_AUTH_FAILED|ACCESS_REFUSED/.test(line));
    expect(naming, text.join("\n")).toHaveLength(1);
    expect(JSON.parse(naming[0]!)).toMatchObject({
      level: 50,
      code: "BROKER_AUTH_FAILED",
      hint: expect.stringContaining("AMQP_URL"),
    });
    expect(text.join("\n")).not.toContain(password);
  }, 60_000);
});
