import { parseConfig, ToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { brokerNodes, brokerSocketOptions, dialUrl, roundFailure } from "./nodes.js";

const urls = ["amqp://u:p@a:5672/", "amqp://u:p@b:5672/", "amqp://u:p@c:5672/"];
const config = (failoverOrder: "random" | "listed") =>
  parseConfig({ mode: "test", broker: { url: urls.join(","), failoverOrder } });

describe("brokerNodes", () => {
  it("listed: every round starts at the first URL, whichever node was used last", () => {
    const nodes = brokerNodes(config("listed"));
    expect(nodes.roundOrder()).toEqual(urls);
    nodes.used(urls[1]!);
    expect(nodes.roundOrder()).toEqual(urls);
  });

  it("random: shuffled once; a round after losing a node starts at the next one", () => {
    const sequence = [0.1, 0.9];
    const nodes = brokerNodes(config("random"), () => sequence.shift() ?? 0);
    const order = nodes.roundOrder();
    expect([...order].sort()).toEqual(urls);
    expect(order).not.toEqual(urls); // this sequence of draws moves the nodes
    nodes.used(order[0]!);
    expect(nodes.roundOrder()).toEqual([order[1], order[2], order[0]]);
    nodes.used(order[2]!);
    expect(nodes.roundOrder()).toEqual(order);
  });

  it("a single URL is a single node", () => {
    const nodes = brokerNodes(parseConfig({ mode: "test", broker: { url: urls[0] } }));
    expect(nodes.urls).toEqual([urls[0]]);
  });
});

describe("roundFailure", () => {
  const unavailable = new ToolboxError("BROKER_UNAVAILABLE", "cannot reach RabbitMQ (connection refused)");
  const auth = new ToolboxError("BROKER_AUTH_FAILED", "refused the login");
  const fatal = (error: ToolboxError) => error.code === "BROKER_AUTH_FAILED";

  it("one node: its own error", () => {
    expect(roundFailure([{ url: urls[0]!, error: auth }], fatal)).toBe(auth);
  });

  it("several: fatal only when every node refused for good; otherwise names each node, masked", () => {
    expect(
      roundFailure(
        urls.map((url) => ({ url, error: auth })),
        fatal,
      ),
    ).toBe(auth);
    const mixed = roundFailure(
      [
        { url: urls[0]!, error: unavailable },
        { url: urls[1]!, error: auth },
      ],
      fatal,
    );
    expect(mixed.code).toBe("BROKER_UNAVAILABLE");
    expect(mixed.message).toContain("no RabbitMQ node of 2 is reachable");
    expect(mixed.message).toContain("amqp://u:***@a:5672/: cannot reach RabbitMQ (connection refused)");
    expect(mixed.message).toContain("amqp://u:***@b:5672/: refused the login");
    expect(mixed.message).not.toContain(":p@");
  });
});

describe("per-node dialling", () => {
  it("adds the heartbeat unless the URL sets one, and takes the TLS server name from the node dialled", () => {
    const tls = parseConfig({ mode: "test", broker: { url: "amqps://u:p@a:5671/,amqps://u:p@b:5671/" } });
    expect(dialUrl(tls, "amqps://u:p@b:5671/")).toBe("amqps://u:p@b:5671/?heartbeat=30");
    expect(dialUrl(tls, "amqps://u:p@b:5671/?heartbeat=5")).toBe("amqps://u:p@b:5671/?heartbeat=5");
    expect(brokerSocketOptions(tls, "t", "amqps://u:p@b:5671/")).toMatchObject({ servername: "b" });
    expect(brokerSocketOptions(tls, "t")).toMatchObject({ servername: "a" });
  });
});
