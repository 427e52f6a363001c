import { doc, positiveInt } from "./doc.js";

/** The byte budget of a consumer (worker or tracker): what it holds delivered and not yet acknowledged. */
export function maxInFlightBytes(who: "worker" | "tracker", fallback: number) {
  return doc(
    positiveInt()
      .min(64 * 1024)
      .max(4 * 1024 * 1024 * 1024)
      .default(fallback),
    `Bytes of messages the ${who} holds at once (delivered, not yet acknowledged). The prefetch counts ` +
      `messages; this keeps large ones from piling up: the ${who} takes fewer ahead while messages are ` +
      "large, and stops taking any while over it (docs/worker.md, Memory).",
    fallback,
  );
}
