import { z } from "zod";
import { doc, positiveInt } from "./doc.js";

/** `retry.*`: how often and how far apart a failing task is retried (a task contract may override it). */
export const retryPolicySchema = z.strictObject({
  maxAttempts: doc(
    positiveInt().max(100).default(5),
    "How many times a task runs in total before it is dead-lettered (1 = never retried).",
    5,
  ),
  backoffBaseMs: doc(
    positiveInt().default(1_000),
    "Delay before the first retry; each further retry doubles it (exponential backoff).",
    1000,
  ),
  backoffMaxMs: doc(positiveInt().default(600_000), "Upper bound of the retry delay.", 600000),
  jitter: doc(
    z.enum(["full", "equal", "none"]).default("full"),
    "Randomisation of the delay: full = uniform in [0, delay], equal = [delay/2, delay], none = exact.",
    "full",
  ),
});
