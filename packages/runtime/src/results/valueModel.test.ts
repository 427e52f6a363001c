import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { decodeTaskMessage } from "../protocol/decodeTaskMessage.js";
import { decodeJson, encodeJson } from "../protocol/kombuJson.js";
import { arrivingMessage, decodedOrRefused } from "../protocol/testArbitraries.js";
import { type EncodedOutcome, encodeOutcome } from "./encodeOutcome.js";
import { toJsonText } from "./jsonText.js";
import { taskRef, trackingInput } from "./messageRows.js";
import type { TaskOutcome } from "./resultTypes.js";
import { encodeTracking } from "./trackingStore.js";

/**
 * The one value model: whatever the decoder accepts, both writers can store. Checked here against what
 * PostgreSQL would refuse (test/results/valueModel.int.test.ts stores a sample for real): text and jsonb
 * without U+0000 or unpaired surrogates, Celery's varchar(155) columns, its integer retries column.
 */

/** What PostgreSQL refuses in a text or jsonb value. */
function refusedText(text: string): boolean {
  return (
    text.includes("\u0000") ||
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)
  );
}

function expectJsonb(text: unknown): void {
  if (text === null) return;
  expect(typeof text).toBe("string");
  // jsonb also refuses the escapes \u0000 and unpaired \ud8xx; parsed, those would be the characters.
  const walk = (v: unknown): void => {
    if (typeof v === "string") expect(refusedText(v), JSON.stringify(v)).toBe(false);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        walk(k);
        walk(x);
      }
    }
  };
  walk(JSON.parse(text as string));
}

const textOf = (cell: unknown): string | null =>
  Buffer.isBuffer(cell) ? cell.toString("utf8") : (cell as string | null);

function expectVarchar155(text: string | null | undefined): void {
  if (text === null || text === undefined) return;
  expect([...text].length).toBeLessThanOrEqual(155);
  expect(refusedText(text)).toBe(false);
}

function expectStorableResultRow(row: EncodedOutcome, msg: TaskMessage): void {
  for (const column of [row.taskId, row.name, row.queue, row.parentId, row.rootId]) expectVarchar155(column);
  expect(row.retries).toBeLessThanOrEqual(2 ** 31 - 1);
  for (const column of [row.resultJson, row.meta, row.error]) expectJsonb(column);
  // args/kwargs are bytea holding Kombu JSON: exactly what was received, as Celery stores it, and byte for
  // byte what the encoder writes (whether the body's own text was reused or not: receivedJson.ts).
  expect(decodeJson(row.args!.toString())).toEqual(msg.args);
  expect(decodeJson(row.kwargs!.toString())).toEqual(msg.kwargs);
  expect(row.args!.toString("latin1")).toBe(encodeJson(msg.args));
  expect(row.kwargs!.toString("latin1")).toBe(encodeJson(msg.kwargs));
}

function expectStorable(msg: TaskMessage): void {
  const ref = taskRef(msg, "prod.svc");
  const error = { type: "ValueError", message: "boom" };
  const outcomes: TaskOutcome[] = [
    { ...ref, state: "SUCCESS", result: msg.args },
    { ...ref, state: "PROGRESS", meta: msg.kwargs },
    { ...ref, state: "RETRY", error, eta: new Date() },
    { ...ref, state: "FAILURE", error },
    { ...ref, state: "REVOKED", reason: "expired" },
  ];
  for (const outcome of outcomes) expectStorableResultRow(encodeOutcome(outcome, "svc@host"), msg);

  const [ids, names, args, kwargs, parents, roots, , , retries, queues, tracking] = encodeTracking([
    trackingInput(msg, (service) => `prod.${service}`),
  ]);
  for (const column of [ids, parents, roots]) expectVarchar155(column[0] as string | null);
  expect(refusedText(names[0] as string)).toBe(false);
  expect(refusedText((queues[0] as string | null) ?? "")).toBe(false);
  expect(retries[0]).toBeLessThanOrEqual(2 ** 31 - 1);
  for (const column of [args, kwargs, tracking]) expectJsonb(textOf(column[0]));
  // The arguments' jsonb text (the received bytes or toJsonText's) reads as toJsonText's value.
  expect(JSON.parse(textOf(args[0])!)).toEqual(JSON.parse(toJsonText(msg.args)));
  expect(JSON.parse(textOf(kwargs[0])!)).toEqual(JSON.parse(toJsonText(msg.kwargs)));
}

describe("the value model: any message that decodes can be stored", () => {
  it("messages as producers encode them, ids and retry counts of any size", () => {
    let stored = 0;
    fc.assert(
      fc.property(arrivingMessage.encoded, (raw) => {
        const msg = decodedOrRefused(raw);
        if (msg) {
          expectStorable(msg);
          stored++;
        }
      }),
      { numRuns: 300 },
    );
    expect(stored).toBeGreaterThan(100);
  }, 60_000);

  it("hand-made bodies with NUL, lone surrogates, huge numbers and every Kombu marker", () => {
    let stored = 0;
    fc.assert(
      fc.property(arrivingMessage.handMade, (raw) => {
        const msg = decodedOrRefused(raw);
        if (msg) {
          expectStorable(msg);
          stored++;
        }
      }),
      { numRuns: 500 },
    );
    expect(stored).toBeGreaterThan(100);
  }, 60_000);

  it("refuses at decode what no column could hold, naming the header", () => {
    const body = Buffer.from("[[], {}, null]");
    const tooLong = "x".repeat(156);
    for (const [headers, why] of [
      [{ task: "svc.task", id: tooLong }, /header id is longer than 155/],
      [{ task: "svc.task", id: "i", root_id: tooLong }, /header root_id is longer/],
      [{ task: "svc.task", id: "i", retries: 2 ** 31 }, /header retries is 2147483648/],
    ] as const) {
      expect(() => decodeTaskMessage(body, { headers })).toThrow(why);
    }
    // 155 characters that are 310 UTF-16 units still fit.
    expect(decodeTaskMessage(body, { headers: { task: "svc.task", id: "😀".repeat(155) } }).id).toHaveLength(
      310,
    );
    expect(() =>
      decodeTaskMessage(Buffer.from("[[1e400], {}, null]"), { headers: { task: "t.t", id: "i" } }),
    ).toThrow(/args\[0\].*out of range|body\[0\]\[0\].*out of range/);
  });
});
