import type { Pool, PoolClient } from "pg";
import { getTask, type TaskView } from "./readResults.js";
import type { ResultNote } from "./resultNote.js";
import { RESULT_CHANNEL } from "./sqlNames.js";

export interface FollowResultsOptions {
  /** The result tables' schema; notes about other schemas sharing the database are ignored. */
  schema: string;
  /** Every write of a result row (every state change), read back in full. */
  onResult: (task: TaskView) => void;
  /** A read or the listening connection failed; following stops after a broken connection. */
  onError?: (error: Error) => void;
}

/**
 * Follow every result write as it happens (`worker-toolbox dev` shows each finished task): one LISTEN
 * connection taken from `pool` for the notes the results trigger sends, each read back with getTask.
 * Resolves once listening; the returned function stops and gives the connection back.
 */
export async function followResults(pool: Pool, options: FollowResultsOptions): Promise<() => Promise<void>> {
  const client: PoolClient = await pool.connect();
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
  const onError = (error: Error) => {
    broken = error;
    options.onError?.(error);
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
    client.off("notification", onNotification);
    if (!broken) await client.query(`UNLISTEN ${RESULT_CHANNEL}`).catch(() => undefined);
    client.off("error", onError);
    // A broken connection is destroyed, not handed back to the pool.
    client.release(broken);
  };
}
