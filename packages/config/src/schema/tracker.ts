import { z } from "zod";
import { doc, positiveInt } from "./doc.js";
import { maxInFlightBytes } from "./inFlightBytes.js";

/** `tracker.*`: the tracker that drains the platform queue into the tracking table. */
export const trackerSchema = z.strictObject({
  batchSize: doc(positiveInt().max(10_000).default(250), "Tracking rows written per transaction.", 250),
  prefetch: doc(
    positiveInt().max(65_535).default(500),
    "Platform-queue messages the tracker takes ahead: two batches (one being written, one gathering). More " +
      "keeps more copies alive at once, which the garbage collector lets grow the heap: 1,000 (with batchSize " +
      "500) drains 1 KB messages 5–20% faster but peaked at 150–195 MB draining 100,000 of them, against " +
      "120–142 MB (bench/README.md, Tracker).",
    500,
  ),
  // The tracker's rows are written in batches of at most 4 MB of messages: 16 MB keeps four batches ahead.
  maxInFlightBytes: maxInFlightBytes("tracker", 16 * 1024 * 1024),
});
