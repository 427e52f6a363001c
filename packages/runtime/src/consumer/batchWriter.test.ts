import { describe, expect, it } from "vitest";
import { BatchWriter } from "./batchWriter.js";
import type { DurableRetry } from "./transient.js";

const refused = Object.assign(new Error("new row violates check constraint"), { code: "23514" });
const once: DurableRetry = { run: (fn) => fn() };

/** A writer over a fake table that refuses the row "bad" and records every statement. */
function table(options: { slowMs?: number; retry?: DurableRetry; maxBatchBytes?: number } = {}) {
  const statements: string[][] = [];
  const stored: string[] = [];
  let release: (() => void) | undefined;
  // A write reports the rows it stored, as the result store reports what it wrote.
  const writer = new BatchWriter<string, string>({
    write: async (rows) => {
      statements.push(rows);
      if (options.slowMs) await new Promise((resolve) => setTimeout(resolve, options.slowMs));
      if (rows.includes("bad")) throw refused;
      stored.push(...rows);
      return rows.join(",");
    },
    retry: options.retry ?? once,
    batchSize: 3,
    ...(options.maxBatchBytes ? { maxBatchBytes: options.maxBatchBytes } : {}),
    waitMs: 5,
    concurrency: 1,
    describe: (row) => `Row ${row}`,
  });
  return { writer, statements, stored, release };
}

describe("the batch writer", () => {
  it("writes rows of one turn as one statement and resolves each after it", async () => {
    const { writer, statements } = table();
    await Promise.all(["a", "b"].map((row) => writer.add(row)));
    expect(statements).toEqual([["a", "b"]]);
    expect(writer.batches).toBe(1);
  });

  it("resolves each row with the report of the write that committed it (its own when written alone)", async () => {
    const { writer } = table();
    expect(await Promise.all(["a", "b"].map((row) => writer.add(row)))).toEqual(["a,b", "a,b"]);
    const isolated = await Promise.allSettled(["c", "bad", "d"].map((row) => writer.add(row)));
    expect(isolated.map((o) => (o.status === "fulfilled" ? o.value : "refused"))).toEqual([
      "c",
      "refused",
      "d",
    ]);
  });

  it("starts writing an idle writer's row before the event loop turns (no waiting for setImmediate)", async () => {
    const { writer, statements } = table();
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const stored = Promise.all(["a", "b"].map((row) => writer.add(row)));
    await Promise.resolve();
    expect(turned).toBe(false);
    // Both rows were added in one synchronous run: they share the statement.
    expect(statements).toEqual([["a", "b"]]);
    await stored;
  });

  it("closes a batch at maxBatchBytes (a larger row goes alone) as well as at batchSize", async () => {
    const { writer, statements } = table({ slowMs: 2, maxBatchBytes: 100 });
    const sizes: [string, number][] = [
      ["a", 60],
      ["b", 30],
      ["c", 20],
      ["huge", 500],
      ["d", 10],
      ["e", 10],
      ["f", 10],
      ["g", 10],
    ];
    await Promise.all(sizes.map(([row, bytes]) => writer.add(row, bytes)));
    expect(statements).toEqual([["a", "b"], ["c"], ["huge"], ["d", "e", "f"], ["g"]]);
  });

  it("isolates a refused row inside its batch; rows arriving meanwhile are stored and resolve", async () => {
    const { writer, stored, statements } = table({ slowMs: 5 });
    const first = Promise.allSettled(["a", "bad", "c"].map((row) => writer.add(row)));
    // While the first batch fails and is retried row by row, more rows arrive.
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 4));
      later.push(writer.add(`late-${i}`));
    }
    const outcomes = [...(await first), ...(await Promise.allSettled(later))];
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBe(refused);
    expect(stored.sort()).toEqual(["a", "c", "late-0", "late-1", "late-2", "late-3"]);
    // The isolation wrote the first batch's rows one by one and nothing else.
    expect(statements.slice(1, 4)).toEqual([["a"], ["bad"], ["c"]]);
    expect(writer.pending).toBe(0);
  });

  it("waits out a transient failure through the durable retry", async () => {
    let failures = 2;
    const retrying: DurableRetry = {
      async run(fn) {
        for (;;) {
          try {
            return await fn();
          } catch (error) {
            if (failures-- <= 0) throw error;
          }
        }
      },
    };
    let calls = 0;
    const writer = new BatchWriter<string>({
      write: async () => {
        calls++;
        if (calls <= 2) throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
      },
      retry: retrying,
      batchSize: 10,
      waitMs: 5,
      concurrency: 1,
      describe: (row) => row,
    });
    await writer.add("a");
    expect(calls).toBe(3);
  });

  it("flush waits for every pending row; abandon rejects what is queued with CLOSED", async () => {
    const { writer } = table({ slowMs: 20 });
    const written = writer.add("a");
    await writer.flush();
    await written;
    const slow = writer.add("b");
    await new Promise((resolve) => setImmediate(resolve)); // "b" is being written now
    const queued = [writer.add("c"), writer.add("d")];
    writer.abandon();
    await expect(queued[0]).rejects.toMatchObject({ code: "CLOSED" });
    await expect(queued[1]).rejects.toMatchObject({ code: "CLOSED", message: "Row d not stored: closing." });
    await expect(writer.add("e")).rejects.toMatchObject({ code: "CLOSED" });
    await slow.catch(() => undefined);
  });

  it("settles rows in the order their batches were cut, when a later batch commits first", async () => {
    // Two batches written side by side; the first one's COMMIT comes last.
    const commits = new Map<string, () => void>();
    const writer = new BatchWriter<string>({
      write: (rows) => new Promise<void>((resolve) => commits.set(rows[0]!, resolve)),
      retry: once,
      batchSize: 2,
      waitMs: 5,
      concurrency: 2,
      describe: (row) => row,
    });
    const settled: string[] = [];
    const rows = ["a", "b", "c", "d"].map((row) => writer.add(row).then(() => settled.push(row)));
    expect([...commits.keys()]).toEqual(["a", "c"]);
    commits.get("c")!();
    await new Promise((resolve) => setImmediate(resolve));
    // c and d are committed, but a and b (delivered before them) are not: nothing settles yet.
    expect(settled).toEqual([]);
    expect(writer.pending).toBe(1);
    commits.get("a")!();
    await Promise.all(rows);
    expect(settled).toEqual(["a", "b", "c", "d"]);
    expect(writer.pending).toBe(0);
  });
});
