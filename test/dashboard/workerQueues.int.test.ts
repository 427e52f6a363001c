import { randomUUID } from "node:crypto";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import amqp, { type ChannelModel } from "amqplib";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { broadcastCommand } from "../../packages/runtime/src/api/ops.js";
import { sleep as sleepTask } from "../fixtures/workers/tasks.js";
import { chromiumMissing } from "../support/browser.js";
import { testServers } from "../support/servers.js";
import { type BrowserWorld, startBrowserWorld } from "./browserWorld.js";

/**
 * A worker's page in a real Chromium: the queues it consumes (its active_queues), an operator adding a
 * consumer for a queue declared elsewhere (the worker's refusal shown with its reason; a task waiting there
 * run) and cancelling it, cancelling the service's queue (out of rotation, said before confirming) and
 * putting it back; the viewer sees the queues and is refused by the server when it posts the actions.
 */
const missing = chromiumMissing();
if (missing) console.warn(`\n*** SKIPPING the dashboard worker-queue tests: ${missing}. ***\n`);

let world: BrowserWorld;
let page: Page;
let broker: ChannelModel;
let node: string;
let legacy: string;
let serviceQueue: string;

/** The queues the worker says it consumes, asked by the test itself (not through the dashboard). */
async function activeQueues(): Promise<string[]> {
  const replies = await broadcastCommand(
    broker,
    world.h.prefix,
    "active_queues",
    {},
    { destination: [node] },
  );
  return ((replies[node] ?? []) as { name: string }[]).map((queue) => queue.name);
}

/** The queues the page lists. */
const listed = (target: Page) => target.locator("table.queues tbody tr td:first-child").allInnerTexts();

/** A task put straight into `queue` (the default exchange), as another team's producer would. */
async function putTask(queue: string, args: unknown[]): Promise<string> {
  const { content, properties } = encodeTaskMessage(
    newTaskMessage({ task: "wtest.charge", args, id: randomUUID() }),
  );
  const channel = await world.h.channel();
  channel.sendToQueue(queue, content, properties);
  await channel.waitForConfirms();
  return properties.correlationId;
}

/** Type a queue name into the add form, submit, and confirm. */
async function addConsumer(queue: string): Promise<string> {
  await page.locator('#add-consumer input[name="queue"]').fill(queue);
  await page.getByRole("button", { name: "Add consumer" }).click();
  const question = await page.locator(".question").innerText();
  await page.locator("#confirm").click();
  await page.waitForSelector(".flash");
  return question;
}

describe.skipIf(missing !== undefined)("a worker's queues on its dashboard page", () => {
  beforeAll(async () => {
    world = await startBrowserWorld("dashq", { workerEvents: true });
    node = world.worker.nodeName;
    legacy = `legacy-${world.h.prefix}`;
    serviceQueue = `${world.h.prefix}.wtest`;
    world.payments.down = false;
    broker = await amqp.connect(testServers().amqpUrl);
    // A queue another team declared, with arguments of its own.
    await (await world.h.channel()).assertQueue(legacy, {
      durable: true,
      arguments: { "x-max-priority": 5 },
    });
    page = await world.operator.newPage();
  });

  afterAll(async () => {
    await (await world?.h.channel())?.deleteQueue(legacy).catch(() => undefined);
    await broker?.close().catch(() => undefined);
    await world?.close();
  });

  it("an operator adds a consumer (a refusal shows the worker's reason), its queue's task runs, and cancels it", async () => {
    const waiting = await putTask(legacy, ["order-legacy"]);
    await world.open(page, `/workers/${encodeURIComponent(node)}`);
    expect(await listed(page)).toEqual([serviceQueue]);

    await addConsumer(`nosuch-${world.h.prefix}`);
    expect(await page.locator(".flash").innerText()).toContain(
      `${node}: error: queue nosuch-${world.h.prefix} does not exist: declare it`,
    );
    expect(await listed(page)).toEqual([serviceQueue]);

    expect(await addConsumer(legacy)).toContain(`Make ${node} consume ${legacy} as well?`);
    expect(await page.locator(".flash").innerText()).toBe(`${node}: add consumer ${legacy}`);
    expect(await listed(page)).toEqual([serviceQueue, legacy]);
    expect(await activeQueues()).toEqual([serviceQueue, legacy]);
    await world.resultRow(waiting, "SUCCESS");
    await world.screenshot(page, "worker");

    await page.locator(`tr[data-queue="${legacy}"]`).getByRole("button", { name: "Cancel consumer" }).click();
    const question = await page.locator(".question").innerText();
    expect(question).toContain(`Stop ${node} consuming ${legacy}?`);
    expect(question).not.toContain("rotation");
    await page.locator("#confirm").click();
    await expect
      .poll(() => page.locator(".flash").innerText())
      .toBe(`${node}: no longer consuming from ${legacy}`);
    expect(await listed(page)).toEqual([serviceQueue]);
    expect(await activeQueues()).toEqual([serviceQueue]);

    // The audit trail: who asked, for what, and what the worker answered (its refusal included).
    const done = world.audit.filter((entry) => entry.msg === "dashboard action done");
    expect(
      done.map((entry) => [entry.by, (entry.fields as { queue: string[] }).queue[0], entry.outcome]),
    ).toEqual([
      ["operator", `nosuch-${world.h.prefix}`, expect.stringContaining("error: queue nosuch-")],
      ["operator", legacy, `${node}: add consumer ${legacy}`],
      ["operator", legacy, `${node}: no longer consuming from ${legacy}`],
    ]);
  });

  it("cancelling the service's queue says first that it takes the worker out of rotation; the page puts it back", async () => {
    await world.open(page, `/workers/${encodeURIComponent(node)}`);
    await page
      .locator(`tr[data-queue="${serviceQueue}"]`)
      .getByRole("button", { name: "Cancel consumer" })
      .click();
    expect(await page.locator(".question").innerText()).toMatch(
      /out of rotation: it takes no new wtest tasks[\s\S]*No other wtest worker is online/,
    );
    expect(await page.locator("#confirm").getAttribute("class")).toBe("danger");
    await page.locator("#confirm").click();
    await expect
      .poll(() => page.locator(".flash").innerText())
      .toBe(`${node}: no longer consuming from ${serviceQueue}`);
    expect(await page.locator("#out-of-rotation").innerText()).toContain(`does not consume ${serviceQueue}`);
    expect(await activeQueues()).toEqual([]);
    // A task sent now waits in the queue, which has no consumer, until the worker is put back.
    const sent = await world.producer.send(sleepTask, [1]);
    const depth = await (await world.h.channel()).checkQueue(serviceQueue);
    expect(depth).toMatchObject({ messageCount: 1, consumerCount: 0 });

    await page.getByRole("button", { name: `Consume ${serviceQueue} again` }).click();
    expect(await page.locator(".question").innerText()).toContain(`Put ${node} back in rotation`);
    await page.locator("#confirm").click();
    await expect.poll(() => page.locator(".flash").innerText()).toBe(`${node}: add consumer ${serviceQueue}`);
    expect(await page.locator("#out-of-rotation").count()).toBe(0);
    expect(await activeQueues()).toEqual([serviceQueue]);
    await world.resultRow(sent.id, "SUCCESS");
  });

  it("the viewer sees the queues but cannot act: the server refuses its posts and nothing changes", async () => {
    const reader = await world.viewer.newPage();
    try {
      await world.open(reader, `/workers/${encodeURIComponent(node)}`);
      expect(await listed(reader)).toEqual([serviceQueue]);
      expect(await reader.locator("main button, main input:not([type=hidden])").count()).toBe(0);
      const token = await reader.locator('meta[name="csrf-token"]').getAttribute("content");
      const post = (fields: Record<string, string>) =>
        reader.evaluate(
          async ([target, body]) =>
            (await fetch(target!, { method: "POST", body: new URLSearchParams(body) })).status,
          [
            world.url("/actions/worker/queue"),
            { node, _csrf: token ?? "", confirm: "1", ...fields },
          ] as const,
        );
      expect(await post({ command: "add_consumer", queue: legacy })).toBe(403);
      expect(await post({ command: "cancel_consumer", queue: serviceQueue })).toBe(403);
      expect(await activeQueues()).toEqual([serviceQueue]);
      expect(world.audit.filter((entry) => entry.by === "viewer")).toEqual([]);
    } finally {
      await reader.close();
    }
  });
});
