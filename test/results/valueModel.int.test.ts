import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskMessage } from "../../packages/runtime/src/protocol/celeryMessage.js";
import { encodeTaskMessage } from "../../packages/runtime/src/protocol/encodeTaskMessage.js";
import { decodeJson, encodeJson } from "../../packages/runtime/src/protocol/kombuJson.js";
import { REUSE_FROM_BYTES } from "../../packages/runtime/src/protocol/receivedJson.js";
import { arrivingMessage, decodedOrRefused } from "../../packages/runtime/src/protocol/testArbitraries.js";
import { getTask, upsertTracking } from "../../packages/runtime/src/results/index.js";
import { jsonbString, toJsonText } from "../../packages/runtime/src/results/jsonText.js";
import { taskRef, trackingInput } from "../../packages/runtime/src/results/messageRows.js";
import { resultsWorld } from "./world.js";

/**
 * The one value model against a real PostgreSQL: a sample of the messages the unit property test
 * (packages/runtime/src/results/valueModel.test.ts) checks, decoded, stored by both writers (result row
 * with the arguments as its value too, tracking row) and read back.
 */
const schema = "public";
const world = resultsWorld("valuemodel", { schema, workerName: "svc@host" });

/** What a jsonb copy keeps: U+FFFD for U+0000 and unpaired surrogates; numeric has no -0. */
function asJsonb(value: unknown): unknown {
  if (typeof value === "string") return jsonbString(value);
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(asJsonb);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [jsonbString(k), asJsonb(v)]));
  }
  return value;
}

async function storeAndReadBack(msg: TaskMessage): Promise<void> {
  await world.pool.query("DELETE FROM celery_taskmeta WHERE task_id = $1", [msg.id]);
  await world.pool.query("DELETE FROM worker_toolbox_tasks WHERE task_id = $1", [msg.id]);
  await world.store.writeMany([{ ...taskRef(msg, "prod.svc"), state: "SUCCESS", result: msg.args }]);
  await upsertTracking(world.pool, schema, [trackingInput(msg, (service) => `prod.${service}`)]);

  const view = await getTask(world.pool, schema, msg.id);
  expect(view.status).toBe("SUCCESS");
  expect(view.result?.value).toEqual(asJsonb(msg.args));
  expect(view.tracking?.args).toEqual(asJsonb(msg.args));
  expect(view.tracking?.kwargs).toEqual(asJsonb(msg.kwargs));
  const { rows } = await world.pool.query<{ args: Buffer; kwargs: Buffer }>(
    "SELECT args, kwargs FROM celery_taskmeta WHERE task_id = $1",
    [msg.id],
  );
  // The bytea columns keep the arguments exactly, as Kombu JSON: the encoder's bytes, reused or not.
  expect(decodeJson(rows[0]!.args.toString("utf8"))).toEqual(msg.args);
  expect(decodeJson(rows[0]!.kwargs.toString("utf8"))).toEqual(msg.kwargs);
  expect(rows[0]!.args.toString("latin1")).toBe(encodeJson(msg.args));
  expect(rows[0]!.kwargs.toString("latin1")).toBe(encodeJson(msg.kwargs));
  // The tracking row's jsonb is the one toJsonText's text gives, to the last digit of a numeric.
  const { rows: same } = await world.pool.query<{ same: boolean }>(
    `SELECT args::text = $2::jsonb::text AND kwargs::text = $3::jsonb::text AS same
       FROM worker_toolbox_tasks WHERE task_id = $1`,
    [msg.id, toJsonText(msg.args), toJsonText(msg.kwargs)],
  );
  expect(same[0]?.same).toBe(true);
}

/** Bodies long enough that the writers reuse the received text (protocol/receivedJson.ts). */
const PAD = "p".repeat(REUSE_FROM_BYTES);
const large = {
  encoded: arrivingMessage.encoded.map((raw) => {
    const msg = decodedOrRefused(raw);
    return msg ? encodeTaskMessage({ ...msg, args: [...msg.args, PAD] }) : raw;
  }),
  handMade: arrivingMessage.handMade.map((raw) => ({
    ...raw,
    content: Buffer.from(`${raw.content.toString().slice(0, -", null]".length)}, {"pad": "${PAD}"}]`),
  })),
};

describe("the value model in PostgreSQL", () => {
  it.each([
    ["encoded", arrivingMessage.encoded],
    ["handMade", arrivingMessage.handMade],
    ["large encoded", large.encoded],
    ["large handMade", large.handMade],
  ] as const)("stores %s messages that decode, and reads them back", async (_kind, messages) => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(messages as typeof arrivingMessage.handMade, async (raw) => {
        const msg = decodedOrRefused(raw);
        if (!msg) return;
        await storeAndReadBack(msg);
        stored++;
      }),
      { numRuns: 60 },
    );
    expect(stored).toBeGreaterThan(20);
  });
});
