import type { Pool, PoolClient } from "pg";
import { describeUse, guardPool } from "./poolErrors.js";
import { getTask, type TaskView } from "./readResults.js";
import type { ResultNote } from "./resultNote.js";
import { RESULT_CHANNEL } from "./sqlNames.js";

export interface FollowResultsOptions {
  /** The result tables' schema; notes about other schemas sharing the database are ignored. */
  schema: string;
  /** Every write of a result row (every state change), read back in full. */
  onResult: (task: TaskView) => void;
  /**
   * A read failed. The listening connection's failure is logged once by the pool's guard (poolErrors.ts),
   * not passed here; following stops after it.
   */
  onError?: (error: Error) => void;
}

/**
 * Follow every result write as it happens (`worker-toolbox dev` shows each finished task): one LISTEN
 * connection taken from `pool` for the notes the results trigger sends, each read back with getTask.
 * Resolves once listening; the returned function stops and gives the connection back.
 */
export async function followResults(pool: Pool, options: FollowResultsOptions): Promise<() => Promise<void>> {
  const client: PoolClient = await guardPool(pool).connect();
  describeUse(client, { use: "following results (LISTEN)", next: "results are no longer shown" });
  let stopped = false;
  const onNotification = (message: { channel: string; payload?: string }) => {
    if (message.channel !== RESULT_CHANNEL || !message.payload) return;
    const note = JSON.parse(message.payload) as ResultNote;
    if (note.schema !== options.schema) return;
    getTask(pool, options.schema, note.task_id).then(
      (task) => {
        if (!stopped) options.onResult(task);
      },
      (error: Error) => options.onError?.(error),
    );
  };
  let broken: Error | undefined;
  // A broken connection is destroyed at once (not handed back to the pool): pg reports a dropped
  // connection twice (the server's notice, then the socket's end), and the guard logs while it is checked out.
  const onError = (error: Error) => {
    if (broken) return;
    broken = error;
    client.off("notification", onNotification);
    client.release(error);
  };
  client.on("notification", onNotification);
  client.on("error", onError);
  try {
    await client.query(`LISTEN ${RESULT_CHANNEL}`);
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
  return async () => {
    if (stopped) return;
    stopped = true;
    if (broken) return;
    client.off("notification", onNotification);
    await client.query(`UNLISTEN ${RESULT_CHANNEL}`).catch(() => undefined);
    client.off("error", onError);
    client.release();
  };
}
