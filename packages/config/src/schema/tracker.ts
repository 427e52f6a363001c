import { z } from "zod";
import { doc, positiveInt } from "./doc.js";
import { maxInFlightBytes } from "./inFlightBytes.js";

/** `tracker.*`: the tracker that drains the platform queue into the tracking table. */
export const trackerSchema = z.strictObject({
  batchSize: doc(positiveInt().max(10_000).default(500), "Tracking rows written per transaction.", 500),
  prefetch: doc(
    positiveInt().max(65_535).default(2_000),
    "Platform-queue messages the tracker takes ahead.",
    2000,
  ),
  maxInFlightBytes: maxInFlightBytes("tracker"),
});
