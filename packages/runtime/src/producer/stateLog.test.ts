import { ToolboxError } from "@worker-toolbox/config";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { logProducerState, StartWaiters } from "./stateLog.js";

const authFailed = new ToolboxError("BROKER_AUTH_FAILED", "RabbitMQ refused the login (ACCESS_REFUSED).", {
  hint: "check the user name and password in AMQP_URL",
});

function captured() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, logger };
}

describe("StartWaiters", () => {
  it("counts a ready() call and a send while they wait, and no longer once settled", async () => {
    const waiters = new StartWaiters();
    let settle = () => {};
    const waiting = waiters.ready(new Promise<void>((resolve) => (settle = resolve)));
    expect(waiters.told("failed", 0)).toBe(true);
    settle();
    await waiting;
    expect(waiters.told("failed", 0)).toBe(false);
    const sent = waiters.send(Promise.reject(authFailed));
    expect(waiters.told("failed", 0)).toBe(true);
    await expect(sent).rejects.toBe(authFailed);
    expect(waiters.told("failed", 0)).toBe(false);
  });

  it("an unavailable start is told to a waiting send only without an offline buffer (it would hold the send)", () => {
    const waiters = new StartWaiters();
    void waiters.send(new Promise(() => {}));
    expect(waiters.told("unavailable", 0)).toBe(true);
    expect(waiters.told("unavailable", 100)).toBe(false);
    void waiters.ready(new Promise(() => {}));
    expect(waiters.told("unavailable", 100)).toBe(true);
    expect(waiters.told("available", 0)).toBe(false);
  });
});

describe("logProducerState", () => {
  it("names the error with code and fix only when nobody waiting was told it", () => {
    const { lines, logger } = captured();
    logProducerState(logger, "failed", authFailed, true);
    logProducerState(logger, "failed", authFailed, false);
    logProducerState(logger, "unavailable", authFailed, false);
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, state: "failed", msg: "producer state" }),
      expect.objectContaining({
        level: 50,
        code: "BROKER_AUTH_FAILED",
        hint: "check the user name and password in AMQP_URL",
        msg: "producer failed for good; only a new producer can help",
      }),
      expect.objectContaining({ level: 40, code: "BROKER_AUTH_FAILED", msg: "producer unavailable" }),
    ]);
    expect(JSON.stringify(lines[0])).not.toContain("ACCESS_REFUSED");
  });
});
