import { entityNames } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { echo, flaky, implementations, SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";

/*
 * celery#9867: on quorum queues Celery lost retried countdown tasks, because the retry was published with
 * the `x-death` headers of its earlier trip through the delay queues, and RabbitMQ (before 4.0.1) drops a
 * message dead-lettered into a queue its `x-death` already names, unless a rejection came between: a
 * "cycle". Here a delay rung dead-letters into the service queue; a message whose `x-death` names the
 * service queue (dead-lettered from it once, then replayed by some other tool) must still arrive after
 * passing through the rungs, as must a task that goes round the same rung many times.
 */
let h: Harness;
let worker: Worker;

beforeAll(async () => {
  h = await createHarness("dlx-cycle", testServers());
  worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
  await worker.start();
});

afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
  await h?.close();
});

describe("delay rungs on quorum queues never form a dead-letter cycle (celery#9867)", () => {
  it("a task whose x-death names its own queue arrives after waiting in the rungs", async () => {
    const names = entityNames(h.prefix);
    const msg = newTaskMessage({ task: echo.name, args: [7], countdownMs: 1_500 });
    const { content, properties } = encodeTaskMessage(msg);
    const earlierDeath = {
      count: 1,
      reason: "expired",
      queue: names.serviceQueue(SERVICE),
      exchange: names.exchange,
      "routing-keys": [echo.name],
    };
    await h.publishRaw(msg.task, content, {
      ...properties,
      headers: { ...properties.headers, "x-death": [earlierDeath] },
    });
    expect(await h.waitForStatus(msg.id, "SUCCESS", 20_000)).toMatchObject({ result_json: 7 });
  });

  it("a task that waits in the same rung twice, and one retried through the rungs, arrive", async () => {
    // 6.5 s with rungs up to 3.2 s: the 3.2 s rung twice, then the rest.
    const { id: later } = await h.producer.send(echo, [8], undefined, { countdownMs: 6_500 });
    const { id: retried } = await h.producer.send(flaky, [], { failures: 3 });
    expect(await h.waitForStatus(retried, "SUCCESS", 30_000)).toMatchObject({ result_json: 4 });
    expect(await h.waitForStatus(later, "SUCCESS", 30_000)).toMatchObject({ result_json: 8 });
  });
});
