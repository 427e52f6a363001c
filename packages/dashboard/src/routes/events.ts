import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { DashboardServices } from "../createDashboard.js";
import type { Topic } from "../live/changeFeed.js";
import type { Env } from "./env.js";

/** How often the broker is sampled while someone watches (the management API refreshes every 5 s). */
const BROKER_POLL_MS = 2_000;

/**
 * Server-sent events: `event: change`, `data: ["tasks","failures"]` whenever one of those topics changed
 * (coalesced to at most one message per 250 ms), and a comment every 15 s so proxies keep the stream open.
 * While at least one page listens, the broker is sampled and a change in depths or alarms is a `broker` topic.
 */
export function eventRoutes(services: DashboardServices): Hono<Env> {
  const app = new Hono<Env>();
  let watchers = 0;
  let poller: NodeJS.Timeout | undefined;
  let lastBroker = "";
  const poll = async () => {
    const snapshot = await services.broker.snapshot(0);
    const signature = JSON.stringify([
      snapshot.services.map((s) => [s.service, s.ready, s.unacked, s.consumers, s.deadLetters]),
      snapshot.alarms.map((a) => a.key),
      snapshot.error,
    ]);
    if (signature !== lastBroker) {
      lastBroker = signature;
      services.feed.publish("broker");
    }
  };
  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      const send = (topics: Topic[]) =>
        void stream.writeSSE({ event: "change", data: JSON.stringify(topics) });
      services.feed.on("change", send);
      watchers += 1;
      poller ??= setInterval(() => void poll().catch(() => {}), BROKER_POLL_MS);
      await stream.writeSSE({ event: "ready", data: "[]" });
      const keepAlive = setInterval(() => void stream.write(": keep-alive\n\n"), 15_000);
      await new Promise<void>((resolve) => stream.onAbort(resolve));
      clearInterval(keepAlive);
      services.feed.off("change", send);
      watchers -= 1;
      if (watchers === 0) {
        clearInterval(poller);
        poller = undefined;
      }
    }),
  );
  return app;
}
