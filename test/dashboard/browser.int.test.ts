import { defineTask, parseConfig } from "@worker-toolbox/config";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { group, signature } from "../../packages/runtime/src/canvas/index.js";
import type { Producer } from "../../packages/runtime/src/producer/index.js";
import { createWorker, implementTask } from "../../packages/runtime/src/worker/index.js";
import { sleep as sleepTask } from "../fixtures/workers/tasks.js";
import { chromiumMissing } from "../support/browser.js";
import { findCeleryPython } from "../support/celeryPython.js";
import { type PythonCelery, pythonCelery } from "../support/pythonCelery.js";
import { testServers } from "../support/servers.js";
import { type Harness, testLogger } from "../worker/harness.js";
import { type BrowserWorld, charge, startBrowserWorld } from "./browserWorld.js";

/**
 * The dashboard as an operator uses it: a real Chromium (Debian's) against a dashboard serving a real
 * broker, database, worker and tracker. One browser launch for the file; each test is a step of one session.
 */
const missing = chromiumMissing();
if (missing) console.warn(`\n*** SKIPPING the dashboard browser tests: ${missing}. ***\n`);
const celery = findCeleryPython();

let world: BrowserWorld;
let h: Harness;
let producer: Producer;
let payments: BrowserWorld["payments"];
let viewer: BrowserContext;
let page: Page;
let python: PythonCelery | undefined;

const url = (path: string) => world.url(path);
const open = (path: string) => world.open(page, path);
const screenshot = (name: string) => world.screenshot(page, name);
const resultRow = (id: string, status: string) => world.resultRow(id, status);

describe.skipIf(missing !== undefined)("dashboard in a real browser", () => {
  beforeAll(async () => {
    world = await startBrowserWorld("dashui");
    ({ h, producer, payments, viewer } = world);
    page = await world.operator.newPage();
  });

  afterAll(async () => {
    await python?.close();
    await world?.close();
  });

  it("a failing task appears in Failures within 2 s, without a reload", async () => {
    await open("/failures?window=1h");
    await page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));
    const receipt = await producer.send(charge, ["order-1"]);
    const stored = await resultRow(receipt.id, "FAILURE");
    await page.locator('tr[data-task="wtest.charge"]').waitFor({ timeout: 5_000 });
    const shown = Date.now();
    expect(shown - stored).toBeLessThan(2_000);
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await expect
      .poll(() => page.locator('tr[data-task="wtest.charge"] .error').innerText())
      .toContain("PermanentError: payments API: 503 for order-1");
    await screenshot("failures");
  });

  it("replay from the UI runs the task again (the dead letter goes back to its queue)", async () => {
    payments.down = false;
    const calls = payments.calls;
    await page.getByRole("button", { name: "Replay sample" }).click();
    await expect.poll(() => page.locator(".question").innerText()).toContain("Replay 1 failed task(s)");
    await page.locator("#confirm").click();
    await expect
      .poll(() => page.locator(".flash").innerText())
      .toContain("Replayed 1 of 1 matching dead letter(s)");
    await expect.poll(() => payments.calls, { timeout: 10_000 }).toBe(calls + 1);
    // The replay is a new generation of the task: its SUCCESS replaces the FAILURE, which stays in the states.
    await expect.poll(() => page.locator("h1 .status").innerText()).toBe("SUCCESS");
    await expect
      .poll(() => page.locator('table.states tr[data-generation="0"] .status').allInnerTexts())
      .toContain("FAILURE");
    await expect
      .poll(() => page.locator('table.states tr[data-generation="1"]').last().innerText())
      .toMatch(/SUCCESS\s+replay 1/);
    await screenshot("task");
    // The Failures page says what became of the replays of its window.
    await open("/failures?window=1h");
    expect(await page.locator(".replay-outcomes").innerText()).toContain(
      "Of 1 task(s) replayed in the last 1h: 1 succeeded, 0 failed again, 0 still running.",
    );
  });

  it("revoke a queued task from the UI: it ends REVOKED and never runs", async () => {
    const busy = await producer.send(sleepTask, [3_000]);
    const queued = await producer.send(sleepTask, [1]);
    // The action appears once the tracker has recorded the task (a page opened before shows "nothing recorded").
    await expect
      .poll(async () => {
        await open(`/tasks/${queued.id}`);
        return page.getByRole("button", { name: "Revoke" }).count();
      })
      .toBe(1);
    expect(await page.locator("h1 .status").innerText()).toBe("PENDING");
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.locator("#confirm").click();
    await expect.poll(() => page.locator("h1 .status").innerText()).toBe("REVOKED");
    await resultRow(busy.id, "SUCCESS");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows } = await h.pool.query("SELECT status, worker FROM celery_taskmeta WHERE task_id = $1", [
      queued.id,
    ]);
    expect(rows[0]).toMatchObject({ status: "REVOKED" });
  });

  it("filters the task list by state and by a value inside the arguments", async () => {
    // A failure to filter for (the first one was replayed to SUCCESS).
    payments.down = true;
    const failing = await producer.send(charge, ["order-7"]);
    await resultRow(failing.id, "FAILURE");
    payments.down = false;
    // Its dead letter is not this test's subject (the dead-letter test counts its own).
    await expect.poll(async () => (await h.takeDeadLetters()).length, { timeout: 10_000 }).toBe(1);
    await open("/tasks");
    // A live refresh never replaces the filter form (test/dashboard/live.int.test.ts): one click does it.
    await page.locator('select[name="state"]').selectOption(["FAILURE"]);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/[?&]state=FAILURE/);
    await page.waitForSelector("body[data-live=connected]");
    const states = await page.locator("table.tasks tbody tr .status").allInnerTexts();
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(["FAILURE"]));

    await open("/tasks");
    await page.locator('input[name="arg"]').fill("order-7");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => page.locator("table.tasks tbody tr").count()).toBe(1);
    expect(await page.locator("table.tasks tbody tr td.args").innerText()).toContain('["order-7"]');
    await screenshot("tasks");
  });

  it("shows a task's group and place in it, and lists the group's members (as the viewer)", async () => {
    const receipt = await producer.apply(group(signature(sleepTask, [1]), signature(sleepTask, [2])));
    await expect
      .poll(async () => {
        const { rows } = await h.pool.query(
          "SELECT count(*)::int AS n FROM worker_toolbox_tasks WHERE group_id = $1",
          [receipt.groupId],
        );
        return rows[0].n;
      })
      .toBe(2);
    const reader = await viewer.newPage();
    try {
      await world.open(reader, `/tasks/${receipt.ids[1]}`);
      expect(await reader.locator("#task-group").innerText()).toBe(`${receipt.groupId} · member 1`);
      await reader.locator("#task-group a").click();
      await reader.waitForURL(/[?&]group=/);
      await expect.poll(() => reader.locator("table.tasks tbody tr").count()).toBe(2);
      expect(await reader.locator('input[name="group"]').inputValue()).toBe(receipt.groupId);
    } finally {
      await reader.close();
    }
  });

  it("shows an XSS payload in the arguments as text and never runs it", async () => {
    const payload = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`;
    const receipt = await producer.send(charge, [payload]);
    await resultRow(receipt.id, "SUCCESS");
    await open(`/tasks/${receipt.id}`);
    // The tracker may store the arguments a moment after the result: the page updates itself when it does.
    await expect
      .poll(() => page.locator("#task-args").innerText(), { timeout: 10_000 })
      .toContain(JSON.stringify(payload));
    expect(await page.locator("#task-args img, #task-args script").count()).toBe(0);
    await open(`/tasks?arg=${encodeURIComponent(payload)}`);
    expect(await page.locator("td.args").innerText()).toContain("<script>");
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
  });

  it("refuses an action to a viewer, and to a form without the CSRF token", async () => {
    const receipt = await producer.send(sleepTask, [1]);
    const asViewer = await viewer.newPage();
    await asViewer.goto(url(`/tasks/${receipt.id}`));
    expect(await asViewer.getByRole("button", { name: "Revoke" }).count()).toBe(0);
    const post = (target: Page, csrf: string | null) =>
      target.evaluate(
        async ([id, token]) => {
          const body = new URLSearchParams({ id: id!, _csrf: token ?? "", confirm: "1" });
          return (await fetch("actions/revoke", { method: "POST", body })).status;
        },
        [receipt.id, csrf] as const,
      );
    const viewerToken = await asViewer.locator('meta[name="csrf-token"]').getAttribute("content");
    await asViewer.goto(url("/"));
    expect(await post(asViewer, viewerToken)).toBe(403);
    await page.goto(url("/"));
    expect(await post(page, "forged")).toBe(403);
    const { rows } = await h.pool.query("SELECT status FROM celery_taskmeta WHERE task_id = $1", [
      receipt.id,
    ]);
    expect(rows[0]?.status).not.toBe("REVOKED");
    await asViewer.close();
  });

  it.skipIf(!celery.found)(
    "lists a Celery worker from its heartbeats and marks it offline once killed",
    async () => {
      const servers = testServers();
      python = await pythonCelery({
        prefix: h.prefix,
        services: ["pyworker"],
        amqpUrl: servers.amqpUrl,
        databaseUrl: h.databaseUrl,
      });
      // -E: events on (heartbeats are on by default), as the Workers page needs them.
      const worker = await python.startWorker({ args: ["-E"] });
      await open("/workers");
      const row = page.locator(`tr[data-worker="${worker.name}"]`);
      await row.waitFor({ timeout: 30_000 }).catch((error: unknown) => {
        throw new Error(`no heartbeat from the Celery worker; its log:\n${worker.log()}`, { cause: error });
      });
      expect(await row.locator(".status").innerText()).toBe("online");
      expect(await row.innerText()).toMatch(/py-celery 5\.\d+\.\d+/);
      await screenshot("workers");
      // Its page lists the queue it consumes, read from the Celery worker's own active_queues reply.
      await row.getByRole("link", { name: worker.name }).click();
      await page.waitForURL(/\/workers\/./);
      expect(await page.locator("table.queues tbody tr").allInnerTexts()).toEqual([
        expect.stringMatching(new RegExp(`^${h.prefix}\\.pyworker\\s[\\s\\S]*its service's queue`)),
      ]);
      await open("/workers");
      await worker.kill();
      const killed = Date.now();
      await expect.poll(() => row.locator(".status").innerText(), { timeout: 15_000 }).toBe("offline");
      expect(await row.innerText()).toContain("missed heartbeats");
      // Celery's rule: two heartbeat intervals (2 s each) without one, plus the sweep and the refresh.
      expect(Date.now() - killed).toBeLessThan(8_000);
    },
  );

  it("lists a TypeScript worker from its heartbeats (service, toolbox version, tasks) and marks it offline when it stops", async () => {
    const report = defineTask({ name: "wtinv.report.v2", args: z.tuple([z.string()]), result: z.string() });
    const servers = testServers();
    const tsWorker = createWorker({
      config: parseConfig({
        mode: "test",
        service: "wtinv",
        environment: { prefix: h.prefix },
        broker: { url: servers.amqpUrl },
        database: { url: h.databaseUrl, poolSize: 2 },
        worker: { events: true, heartbeatMs: 500, concurrency: 3 },
        logLevel: "silent",
      }),
      tasks: [implementTask(report, ({ args: [id] }) => `report ${id}`)],
      logger: testLogger,
    });
    try {
      await tsWorker.start();
      await open("/workers");
      const row = page.locator(`tr[data-worker="${tsWorker.nodeName}"]`);
      await row.waitFor({ timeout: 15_000 });
      expect(await row.locator(".status").innerText()).toBe("online");
      const cells = await row.locator("td").allInnerTexts();
      // state, worker, pid, service, toolbox, software, concurrency, running, processed, last seen, tasks
      expect(cells[2]).toBe(String(process.pid));
      expect(cells[3]).toBe("wtinv");
      expect(cells[4]).toMatch(/^\d+\.\d+\.\d+/);
      expect(cells[5]).toMatch(/^worker-toolbox \d+\.\d+\.\d+/);
      expect(cells[6]).toBe("3");
      expect(cells[10]).toBe("wtinv.report.v2");
      // Remote control from the page (operator): one more handler, seen in the next heartbeat.
      await row.getByRole("button", { name: "Grow pool" }).click();
      await expect
        .poll(() => page.locator(".question").innerText())
        .toContain(`Grow the pool of ${tsWorker.nodeName}`);
      await page.locator("#confirm").click();
      await expect
        .poll(() => page.locator(".flash").innerText())
        .toBe(`${tsWorker.nodeName}: pool will grow`);
      await expect.poll(() => row.locator("td").nth(6).innerText(), { timeout: 5_000 }).toBe("4");
      // Shut down: the worker drains and stops as on SIGTERM; its worker-offline marks it at once.
      await row.getByRole("button", { name: "Shut down" }).click();
      await page.locator("#confirm").click();
      await expect.poll(() => page.locator(".flash").innerText()).toBe(`${tsWorker.nodeName}: shutting down`);
      await expect.poll(() => tsWorker.state, { timeout: 10_000 }).toBe("stopped");
    } finally {
      await tsWorker.close({ graceMs: 1_000 });
    }
    // worker-offline: offline at once, not after missed heartbeats.
    const row = page.locator(`tr[data-worker="${tsWorker.nodeName}"]`);
    await expect.poll(() => row.locator(".status").innerText(), { timeout: 10_000 }).toBe("offline");
    expect(await row.innerText()).not.toContain("missed heartbeats");
  });

  it("inspects dead letters, replays a selection and purges the rest, each after a confirmation", async () => {
    payments.down = true;
    const sent = await Promise.all(["order-20", "order-21"].map((order) => producer.send(charge, [order])));
    await Promise.all(sent.map((receipt) => resultRow(receipt.id, "FAILURE")));
    // The FAILURE row is written before the dead letter is published (settle: row, dead letter, ack): a page
    // opened in between lists an empty queue until the letters arrive, which it shows without a reload.
    await open("/dead-letters");
    await expect
      .poll(() => page.locator("section.dlq").first().innerText(), { timeout: 10_000 })
      .toMatch(/permanent-error\s+2/);
    await screenshot("dead-letters");
    await page.getByRole("link", { name: "Inspect" }).click();
    await page.locator(`input[name="id"][value="${sent[0]!.id}"]`).check();
    payments.down = false;
    await page.getByRole("button", { name: "Replay selected" }).click();
    await expect
      .poll(() => page.locator(".question").innerText())
      .toContain("1 selected dead letter(s) of wtest");
    // The worker (one task at a time) is busy for a moment, so the replayed run starts after the page shows.
    await producer.send(sleepTask, [1_500]);
    await expect.poll(() => world.worker.stats.running).toBe(1);
    await page.locator("#confirm").click();
    await expect.poll(() => page.locator(".flash").innerText()).toContain("Replayed 1 of 1");
    // The replay lands on its outcome page, which follows the new run live (as `dlq replay --wait` does).
    await page.waitForURL(/\/replays\?/);
    await page.waitForSelector("body[data-live=connected]");
    expect(await page.locator("#replay-summary").innerText()).toBe(
      "1 running · 0 succeeded · 0 failed again",
    );
    await page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));
    const replayed = page.locator(`tr[data-task-id="${sent[0]!.id}"]`);
    await expect.poll(() => replayed.getAttribute("data-outcome"), { timeout: 10_000 }).toBe("succeeded");
    expect(await replayed.innerText()).toMatch(/wtest\.charge[\s\S]*replay 1\s+SUCCESS\s+succeeded/);
    await expect
      .poll(() => page.locator("#replay-summary").innerText())
      .toBe("All 1 finished: 1 succeeded · 0 failed again");
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await screenshot("replay");
    await open(`/dead-letters/wtest`);
    await expect.poll(() => page.locator("main tbody tr").count(), { timeout: 10_000 }).toBe(1);
    await open("/dead-letters");
    await page.getByRole("button", { name: "Purge" }).click();
    await expect
      .poll(() => page.locator(".question").innerText())
      .toContain("Purge every dead letter of wtest");
    await page.locator("#confirm").click();
    await expect.poll(() => page.locator(".flash").innerText()).toContain("Purged 1 dead letter(s) of wtest");
  });

  it("renders the overview (screenshot for docs/dashboard.md)", async () => {
    await open("/");
    expect(await page.locator("main h2").allInnerTexts()).toEqual(
      expect.arrayContaining(["Services", "Alarms", "Dead letters by reason"]),
    );
    await expect.poll(() => page.locator("main table").first().innerText()).toContain("wtest");
    await screenshot("overview");
  });
});
