import type { Pool } from "pg";
import { type Replay, recordReplays } from "../results/replays.js";

/**
 * Records confirmed replays on their result rows (results/replays.ts `recordReplays`) in batches while a
 * replay runs, so the rows show "replayed, running again" within moments rather than at the end. Recording
 * is bookkeeping, not delivery: a failure is kept as a warning (the caller shows it), never fails the
 * replay — the replayed run's own write moves its row to the new generation anyway.
 */
export interface ReplayRecorder {
  add(replay: Replay): void;
  /** Record what is buffered and wait for every batch. */
  flush(): Promise<void>;
  /** Every replay added, in order. */
  readonly replays: Replay[];
  readonly warnings: string[];
}

const BATCH = 100;

export function createReplayRecorder(results: { pool: Pool; schema: string } | undefined): ReplayRecorder {
  const replays: Replay[] = [];
  const warnings: string[] = [];
  let buffered: Replay[] = [];
  let chain: Promise<void> = Promise.resolve();
  const write = () => {
    if (!results || buffered.length === 0) return;
    const batch = buffered;
    buffered = [];
    chain = chain.then(() =>
      recordReplays(results.pool, results.schema, batch).then(
        () => undefined,
        (error: Error) => {
          warnings.push(
            `${batch.length} replay(s) not recorded on their result rows (${error.message.split("\n")[0]}); ` +
              "their runs record them when they store an outcome",
          );
        },
      ),
    );
  };
  return {
    replays,
    warnings,
    add(replay) {
      replays.push(replay);
      buffered.push(replay);
      if (buffered.length >= BATCH) write();
    },
    async flush() {
      write();
      await chain;
    },
  };
}
