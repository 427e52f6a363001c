import { describe, expect, it } from "vitest";
import { OfflineBuffer } from "./offlineBuffer.js";

describe("OfflineBuffer", () => {
  it("holds up to its capacity, rejects the overflow at once, releases in order", async () => {
    const buffer = new OfflineBuffer(2);
    const released: string[] = [];
    const a = buffer.hold("a.x", Date.now() + 10_000).then(() => released.push("a"));
    const b = buffer.hold("b.x", Date.now() + 10_000).then(() => released.push("b"));
    await expect(buffer.hold("c.x", Date.now() + 10_000)).rejects.toMatchObject({
      code: "PUBLISH_BUFFER_FULL",
    });
    expect(buffer.size).toBe(2);
    buffer.flush();
    await Promise.all([a, b]);
    expect(released).toEqual(["a", "b"]);
    expect(buffer.size).toBe(0);
  });

  it("rejects a held send when its deadline passes, freeing its place", async () => {
    const buffer = new OfflineBuffer(1);
    await expect(buffer.hold("a.x", Date.now() + 20)).rejects.toMatchObject({ code: "PUBLISH_TIMEOUT" });
    expect(buffer.size).toBe(0);
  });

  it("rejectAll settles every held send with the given error", async () => {
    const buffer = new OfflineBuffer(0);
    await expect(buffer.hold("a.x", Date.now() + 1_000)).rejects.toMatchObject({
      code: "PUBLISH_BUFFER_FULL",
    });
    const big = new OfflineBuffer(3);
    const held = [1, 2, 3].map((i) => big.hold(`t.${i}`, Date.now() + 10_000));
    const error = Object.assign(new Error("closed"), { code: "CLOSED" });
    big.rejectAll(error as never);
    for (const promise of held) await expect(promise).rejects.toBe(error);
  });
});
