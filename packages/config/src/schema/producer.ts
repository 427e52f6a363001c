import { z } from "zod";
import { doc, positiveInt } from "./doc.js";

/** `producer.*`: publish deadlines and what a producer holds while the broker is slow or away. */
export const producerSchema = z.strictObject({
  publishTimeoutMs: doc(
    positiveInt().default(10_000),
    "Deadline for the broker to confirm a publish; past it send() rejects with PUBLISH_TIMEOUT.",
    10000,
  ),
  offlineBufferSize: doc(
    z.number().int().min(0).max(100_000).default(0),
    "Sends held while reconnecting (0 = none: sends fail fast while the broker is down). When full, " +
      "further sends reject with PUBLISH_BUFFER_FULL; nothing is dropped silently.",
    1000,
  ),
  maxQueuedBytes: doc(
    positiveInt()
      .max(1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    "Message bytes held in memory while the connection's write buffer drains (the broker reads slower " +
      "than sends arrive). A send that would pass it rejects with PUBLISH_BUFFER_FULL, not published; " +
      "sendMany paces itself and never fills it.",
    67108864,
  ),
});
