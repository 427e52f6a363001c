import type { Pool, PoolClient } from "pg";
import { describeUse, guardPool } from "./poolErrors.js";
import { getTask, resultFromRow, type TaskView, view } from "./readResults.js";
import { peekNote, type ResultNote, rowFromNote } from "./resultNote.js";
import { RESULT_CHANNEL } from "./sqlNames.js";

export interface FollowResultsOptions {
  /** The result tables' schema; notes about other schemas sharing the database are ignored. */
  schema: string;
  /**
   * Every write of a result row (every state change), in the order the notes came. A final state's note
   * carries the row (migration 000006): the task is built from it with no read, and its `tracking` is null
   * (the note holds the result row only; `getTask` reads both). Any other note — a state on the way, a row
   * too large for a note, one Celery wrote, or a database set to `worker_toolbox.result_notes = 'ids'` — is
   * read back in full with getTask (and not shown when the read found a later state: its own note follows).
   */
  onResult: (task: TaskView) => void;
  /**
   * A read failed, or `onResult` threw. The listening connection's failure is logged once by the pool's guard (poolErrors.ts),
   * not passed here; following stops after it.
   */
  onError?: (error: Error) => void;
}

/**
 * Follow every result write as it happens (`worker-toolbox dev` shows each finished task): one LISTEN
 * connection taken from `pool` for the notes the results trigger sends; a note without the row is read back
 * with getTask.
 * Resolves once listening; the returned function stops and gives the connection back.
 */
export async function followResults(pool: Pool, options: FollowResultsOptions): Promise<() => Promise<void>> {
  const client: PoolClient = await guardPool(pool).connect();
  describeUse(client, { use: "following results (LISTEN)", next: "results are no longer shown" });
  let stopped = false;
  /** Deliveries run in the order the notes came, whichever read finished first. */
  let delivered = Promise.resolve();
  const onNotification = (message: { channel: string; payload?: string }) => {
    if (message.channel !== RESULT_CHANNEL || !message.payload) return;
    const address = peekNote(message.payload);
    if (address && address.schema !== options.schema) return;
    const note = JSON.parse(message.payload) as ResultNote;
    if (note.schema !== options.schema) return;
    const row = rowFromNote(note);
    const task = row
      ? Promise.resolve(view(note.task_id, null, resultFromRow(row)))
      : getTask(pool, options.schema, note.task_id);
    delivered = delivered
      .then(() => task)
      .then(
        (read) => {
          // A read that found a later state than its note named is not shown: that state's own note follows
          // (every write notifies), so a task read after it finished is not shown finished twice.
          if (!stopped && read.status === note.status) options.onResult(read);
        },
        (error: Error) => options.onError?.(error),
      )
      // A throwing onResult is reported like a failed read and does not stop the deliveries after it.
      .catch((error: Error) => options.onError?.(error));
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
