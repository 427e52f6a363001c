import { randomUUID } from "node:crypto";
import { parseConfig } from "@worker-toolbox/config";
import { closeConnectionsNamed } from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerConnection, type BrokerState } from "../../packages/runtime/src/broker/connection.js";

const amqpUrl = process.env.AMQP_URL!;
const managementUrl = process.env.RABBITMQ_MANAGEMENT_URL!;
const logger = pino({ level: "silent" });
const open: BrokerConnection[] = [];

function connection(url: string, setup?: () => Promise<void>, name = `test-${randomUUID()}`) {
  const config = parseConfig({
    environment: { prefix: "t" },
    broker: { url, connectTimeoutMs: 2_000, reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 },
  });
  const conn = new BrokerConnection({ config, logger, name, ...(setup ? { setup } : {}) });
  open.push(conn);
  return conn;
}

function withUrl(change: (url: URL) => void): string {
  const url = new URL(amqpUrl);
  change(url);
  return url.toString();
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((conn) => conn.close()));
});

describe("BrokerConnection", () => {
  it("connects and runs setup", async () => {
    let setups = 0;
    const conn = connection(amqpUrl, async () => {
      setups++;
    });
    const model = await conn.ready();
    const channel = await model.createChannel();
    await channel.close();
    expect(conn.state).toBe("connected");
    expect(setups).toBe(1);
  });

  it("close() while the first connection attempt is in flight resolves and leaves no connection open", async () => {
    const name = `test-${randomUUID()}`;
    const conn = connection(amqpUrl, undefined, name).start();
    // The attempt is under way (TCP + AMQP handshake); close before it completes.
    const closed = await Promise.race([
      conn.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(() => resolve("hung"), 5_000)),
    ]);
    expect(closed).toBe("closed");
    expect(conn.state).toBe("closed");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await closeConnectionsNamed(managementUrl, name)).toBe(0);
  });

  it("reconnects after the broker drops the connection and re-runs setup", async () => {
    let setups = 0;
    const name = `test-${randomUUID()}`;
    const conn = connection(amqpUrl, async () => void setups++, name);
    await conn.ready();
    const states: BrokerState[] = [];
    conn.on("state", (state) => states.push(state));
    // The management API lists a connection a moment after it opens.
    await expect
      .poll(() => closeConnectionsNamed(managementUrl, name), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => states.join(","), { timeout: 10_000 }).toBe("recovering,connected");
    expect(setups).toBe(2);
  });

  it("close() while setup runs: resolves, and the connection that was being set up is closed", async () => {
    let setupStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      setupStarted = resolve;
    });
    let finishSetup: () => void = () => {};
    const setupDone = new Promise<void>((resolve) => {
      finishSetup = resolve;
    });
    const name = `test-${randomUUID()}`;
    const conn = new BrokerConnection({
      config: parseConfig({ environment: { prefix: "t" }, broker: { url: amqpUrl } }),
      logger,
      name,
      setup: async () => {
        setupStarted();
        await setupDone;
      },
    }).start();
    await started;
    const closing = conn.close();
    finishSetup();
    // It hung here: nothing closed the connection that was being set up.
    const hung = new Promise((resolve) => setTimeout(resolve, 10_000, "hung").unref());
    expect(await Promise.race([closing.then(() => "closed"), hung])).toBe("closed");
    expect(conn.state).toBe("closed");
    // No connection of that name is left open on the broker (the management API lists it a moment late).
    await expect.poll(() => closeConnectionsNamed(managementUrl, name), { timeout: 10_000 }).toBe(0);
  });

  it("wrong password: a fatal BROKER_AUTH_FAILED at once, password masked", async () => {
    const conn = connection(withUrl((url) => (url.password = "definitely-wrong")));
    const started = Date.now();
    const error = await conn.ready(10_000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "BROKER_AUTH_FAILED" });
    expect(String((error as Error).message)).not.toContain("definitely-wrong");
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(conn.state).toBe("failed");
  });

  it("unknown vhost: a fatal BROKER_VHOST_NOT_FOUND", async () => {
    const conn = connection(withUrl((url) => (url.pathname = "/no-such-vhost")));
    await expect(conn.ready(10_000)).rejects.toMatchObject({ code: "BROKER_VHOST_NOT_FOUND" });
  });

  it("broker down: keeps retrying, ready() rejects with BROKER_UNAVAILABLE at its deadline", async () => {
    const conn = connection(withUrl((url) => (url.port = "1")));
    await expect(conn.ready(800)).rejects.toMatchObject({ code: "BROKER_UNAVAILABLE" });
    expect(conn.state).toBe("connecting");
  });
});
