import { z } from "zod";
import { doc, positiveInt } from "./doc.js";

/** `limits.*`: the size limits every role enforces. */
export const limitsSchema = z.strictObject({
  maxMessageBytes: doc(
    positiveInt()
      .max(128 * 1024 * 1024)
      .default(1024 * 1024),
    "Largest encoded task message; bigger ones are rejected before publishing, and dead-lettered " +
      "unrun and unstored by workers and the tracker (reason too-large) when one arrives anyway. Pass ids, " +
      "not objects.",
    1048576,
  ),
});
