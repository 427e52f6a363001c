/**
 * A new producer's start grace: the event-loop time its connection had to come up, counted in ticks. A tick
 * that comes late means this process held the loop (a synchronous loop of 5,000 send() right after
 * createProducer holds it for a second, with the connection's I/O unread), and only counts as one tick.
 * `onOver` runs once the grace is used up, unless cancelled first.
 */
const GRACE_TICK_MS = 25;

export function startGrace(graceMs: number, onOver: () => void): { cancel(): void } {
  let had = 0;
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    had += Math.min(now - last, 2 * GRACE_TICK_MS);
    last = now;
    if (had < graceMs) timer = setTimeout(tick, GRACE_TICK_MS).unref();
    else onOver();
  };
  timer = setTimeout(tick, GRACE_TICK_MS).unref();
  return { cancel: () => clearTimeout(timer) };
}

/** `promise`, or a rejection with `timedOut()` once `deadline` (epoch ms) passes first. */
export async function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  timedOut: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
