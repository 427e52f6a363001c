import { describe, expect, it } from "vitest";
import { MemoryResults } from "./memoryResults.js";

describe("in-memory results", () => {
  it("keep the result store's precedence: a higher generation replaces a final row, a lower never writes", async () => {
    const results = new MemoryResults("svc@host");
    const failure = { type: "HTTPError", message: "payments API: 503" };
    await results.writeMany([{ taskId: "t", state: "FAILURE", error: failure }]);
    // Within a generation a final row stays.
    expect((await results.writeMany([{ taskId: "t", state: "SUCCESS", result: 0 }])).unchanged).toEqual([
      "t",
    ]);
    expect(await results.hasSucceeded("t")).toBe(false);

    await results.writeMany([{ taskId: "t", state: "SUCCESS", result: 1, generation: 1 }]);
    expect((await results.getTask("t")).result).toMatchObject({ status: "SUCCESS", value: 1, generation: 1 });
    // A late write of the first run changes nothing.
    expect(
      (await results.writeMany([{ taskId: "t", state: "FAILURE", error: failure, generation: 0 }])).unchanged,
    ).toEqual(["t"]);
    expect(await results.hasSucceeded("t", 1)).toBe(true);
    expect(await results.hasSucceeded("t", 2)).toBe(false);
  });

  it("say per outcome whether the row now holds it", async () => {
    const results = new MemoryResults("svc@host");
    const started = { taskId: "a", state: "STARTED" } as const;
    const success = { taskId: "a", state: "SUCCESS", result: 1 } as const;
    const first = await results.writeMany([started, success]);
    expect([first.stored(started), first.stored(success)]).toEqual([false, true]);
    const late = {
      taskId: "a",
      state: "FAILURE",
      error: { type: "WorkerLostError", message: "lost" },
    } as const;
    expect((await results.writeMany([late])).stored(late)).toBe(false);
  });
});
