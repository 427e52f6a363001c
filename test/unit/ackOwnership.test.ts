import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * One module settles a message (docs/architecture.md, "Who may ack"). This fails when any other source
 * file of the runtime acks, nacks or gives back a delivery: the place to do it is the consumer's settle.
 */
const SRC = fileURLToPath(new URL("../../packages/runtime/src/", import.meta.url));

const MAY_SETTLE: Record<string, string> = {
  "delivery/settle.ts": "the worker's settle: the one place a worker delivery is acked or given back",
  "delivery/delivery.ts": "the Delivery handle settle calls (once per message)",
  "consumer/acks.ts": "the ack tracker: the wire under the Delivery handle",
  "tracker/settleTracking.ts": "the tracker's settle",
  "worker/deadLetterWatch.ts":
    "the dead-letter watch: a copy is acked once its REVOKED row (if any) is stored",
  "ops/deadLetterQueue.ts": "dlq list/replay/purge: hands dead letters back, acks a copy once confirmed",
  "ops/sampleQueues.ts": "the monitor's peek: hands the head message straight back",
};

const SETTLING_CALL = /\.(ack|ackAll|nack|nackAll|giveBack)\(|channel\.reject\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !/\.test\.ts$|testUtil\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe("who may settle a message", () => {
  it("only the settle modules ack, nack or give back", () => {
    const offenders: string[] = [];
    for (const path of sources(SRC)) {
      const file = relative(SRC, path);
      readFileSync(path, "utf8")
        .split("\n")
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
          if (SETTLING_CALL.test(code) && !(file in MAY_SETTLE))
            offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it("every file allowed to settle still does (the list is not stale)", () => {
    for (const file of Object.keys(MAY_SETTLE)) {
      expect(SETTLING_CALL.test(readFileSync(join(SRC, file), "utf8")), file).toBe(true);
    }
  });
});
