import { describe, expect, it } from "vitest";
import { parseReplays, REPLAY_PAGE_LIMIT, replaysQuery } from "./replayBatch.js";

describe("the replay outcome page's address", () => {
  it("carries each replay's task id and generation, ids with dots included, at most the page's limit", () => {
    const replays = [
      { taskId: "5b1c-aa", generation: 1 },
      { taskId: "odd.id.with.dots", generation: 12 },
    ];
    const query = new URLSearchParams(replaysQuery(replays));
    expect(parseReplays(query.getAll("r"))).toEqual(replays);
    const many = Array.from({ length: REPLAY_PAGE_LIMIT + 5 }, (_, i) => ({
      taskId: `t${i}`,
      generation: 1,
    }));
    expect(new URLSearchParams(replaysQuery(many)).getAll("r")).toHaveLength(REPLAY_PAGE_LIMIT);
  });

  it("leaves out what is not `<id>.<generation ≥ 1>`", () => {
    expect(parseReplays(["a.1", "b", "c.0", "d.x", ".3", "e.-1", "f.1.5"])).toEqual([
      { taskId: "a", generation: 1 },
      { taskId: "f.1", generation: 5 },
    ]);
  });
});
