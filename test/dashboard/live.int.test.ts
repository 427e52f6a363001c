import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing } from "../support/browser.js";
import { type BrowserWorld, charge, startBrowserWorld } from "./browserWorld.js";

/**
 * Live updates as someone watching the dashboard sees them, in a real Chromium logged in as the dashboard's
 * viewer: a dead letter shows up on the dead-letter pages without a reload, and a live refresh never takes
 * the filter form from under the user (their selection and their click survive refreshes).
 */
const missing = chromiumMissing();
if (missing) console.warn(`\n*** SKIPPING the dashboard live-update browser tests: ${missing}. ***\n`);

let world: BrowserWorld;
let page: Page;

/** Mark the document; a reload or navigation loses the mark. */
const mark = () => page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));
const sameDocument = () => page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument);
const wtestSection = () => page.locator('section.dlq:has(a[href$="/dead-letters/wtest"])');
const refreshedAt = () => page.locator("#live").getAttribute("data-refreshed-at");

async function deadLetter(order: string): Promise<void> {
  world.payments.down = true;
  const receipt = await world.producer.send(charge, [order]);
  await world.resultRow(receipt.id, "FAILURE");
}

describe.skipIf(missing !== undefined)("dashboard live updates (viewer, real browser)", () => {
  beforeAll(async () => {
    world = await startBrowserWorld("dashlive");
    page = await world.viewer.newPage();
  });

  afterAll(async () => {
    await world?.close();
  });

  it("a dead letter arriving appears on the Dead letters pages without a reload", async () => {
    await world.open(page, "/dead-letters");
    expect(await wtestSection().innerText()).toMatch(/^wtest 0 in /);
    await mark();
    await deadLetter("order-1");
    await expect.poll(() => wtestSection().innerText(), { timeout: 10_000 }).toMatch(/permanent-error\s+1/);
    expect(await sameDocument()).toBe(true);
    // A viewer sees the letters but gets no action.
    expect(await page.getByRole("button").count()).toBe(0);

    await world.open(page, "/dead-letters/wtest");
    expect(await page.locator("main tbody tr").count()).toBe(1);
    await mark();
    await deadLetter("order-2");
    await expect.poll(() => page.locator("main tbody tr").count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator("main tbody").innerText()).toContain("payments API: 503 for order-2");
    expect(await sameDocument()).toBe(true);
  });

  it("a selection and a click on the task filter survive live refreshes", async () => {
    await deadLetter("order-3");
    world.payments.down = false;
    // Tasks keep arriving, so the Tasks page refreshes about once a second while the user works.
    let sending = true;
    const traffic = (async () => {
      for (let n = 0; sending; n++) {
        await world.producer.send(charge, [`busy-${n}`]);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    try {
      await world.open(page, "/tasks");
      await page.locator("#task-filters").evaluate((form) => Object.assign(form, { sameForm: true }));
      await page.locator('select[name="state"]').selectOption(["FAILURE"]);
      // Refreshes happen with the selection made: the rows change, the form is the same element.
      for (let i = 0; i < 2; i++) {
        const before = await refreshedAt();
        await expect.poll(refreshedAt, { timeout: 10_000 }).not.toBe(before);
      }
      expect(
        await page.locator("#task-filters").evaluate((form) => (form as { sameForm?: boolean }).sameForm),
      ).toBe(true);
      // The button pressed across a refresh (held 1.5 s while tasks keep arriving) still submits.
      await page.getByRole("button", { name: "Search" }).hover();
      await page.mouse.down();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await page.mouse.up();
      await page.waitForURL(/[?&]state=FAILURE/, { timeout: 5_000 });
    } finally {
      sending = false;
      await traffic;
    }
    await page.waitForSelector("body[data-live=connected]");
    const states = await page.locator("table.tasks tbody tr .status").allInnerTexts();
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(["FAILURE"]));
  });
});
