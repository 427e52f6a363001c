import { describe, expect, it } from "vitest";
import type { QueueInfo } from "../management/client.js";
import { applyExactCounts, sampledNote } from "./exactCounts.js";
import type { QueueSample } from "./sampleQueues.js";

const sample = (depth: number, consumers: number): QueueSample => ({
  service: "export",
  queue: "p.export.dead",
  role: "dead-letters",
  exists: true,
  depth,
  consumers,
  rates: undefined,
  oldestAgeMs: undefined,
  ageSource: "unknown",
  ageNote: undefined,
});
const info = (unacknowledged: number | undefined) =>
  ({ messagesUnacknowledged: unacknowledged }) as QueueInfo;

describe("exact counts over the management API's samples", () => {
  it("uses the passive declare's ready count and consumers, and keeps the sample when it differed", () => {
    const lagging = sample(0, 0);
    applyExactCounts(lagging, info(0), { ready: 3, consumers: 0 });
    expect(lagging).toMatchObject({ depth: 3, consumers: 0, sampled: { depth: 0, consumers: 0 } });
    expect(sampledNote(lagging, "depth")).toBe(" (exact; the management API's sample says 0)");
    expect(sampledNote(lagging, "consumers")).toBe("");
  });

  it("adds the sampled unacknowledged messages only while consumers hold them", () => {
    const busy = sample(12, 2);
    applyExactCounts(busy, info(2), { ready: 10, consumers: 2 });
    expect(busy).toMatchObject({ depth: 12, consumers: 2 });
    expect(busy.sampled).toBeUndefined();
    const stopped = sample(12, 2);
    applyExactCounts(stopped, info(2), { ready: 12, consumers: 0 });
    expect(stopped).toMatchObject({ depth: 12, consumers: 0, sampled: { depth: 12, consumers: 2 } });
  });

  it("leaves a sample alone when the queue vanished between listing and declare", () => {
    const gone = sample(5, 1);
    applyExactCounts(gone, info(0), undefined);
    expect(gone).toMatchObject({ depth: 5, consumers: 1 });
  });
});
