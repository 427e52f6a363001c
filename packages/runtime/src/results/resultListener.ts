import type { Pool, PoolClient } from "pg";
import { describeUse, guardPool } from "./poolErrors.js";
import { peekNote, type ResultNote } from "./resultNote.js";
import { RESULT_CHANNEL } from "./sqlNames.js";

type Wake = (note: ResultNote | undefined) => void;

const LISTEN_USE = { use: "result waits (LISTEN)", next: "reopened; every wait re-reads its row" };

/** After a held listening connection broke: the first reconnect at once, then waits doubling up to the last. */
const RECONNECT_MS = [0, 100, 250, 500, 1_000, 2_000, 5_000];

/**
 * One LISTEN connection per pool, shared by every `waitForResult` on it: a thousand waiters hold one pool
 * connection, not a thousand. The connection is taken when the first waiter subscribes and given back
 * when the last one leaves — unless someone holds it (`hold()`, what a ResultWatcher does): then it stays
 * open between waits, so a wait starts without a LISTEN round trip, and it is reopened in the background
 * when it breaks. If it breaks, every waiter is woken without a note (so it re-reads its row: a write may
 * have been missed) and the next subscription (or the holder's reconnect) opens a new one.
 */
class ResultListener {
  private client: PoolClient | undefined;
  private connecting: Promise<PoolClient> | undefined;
  private readonly waiters = new Map<string, Set<Wake>>();
  private holders = 0;
  private reconnects = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: Pool) {}

  /**
   * Resolves once LISTEN is active; `wake` then runs on every note for the task, and without one when the
   * connection broke (call `ready()` before re-reading). Returns the unsubscribe.
   */
  async subscribe(schema: string, taskId: string, wake: Wake): Promise<() => void> {
    const key = keyOf(schema, taskId);
    const set = this.waiters.get(key) ?? new Set<Wake>();
    this.waiters.set(key, set);
    set.add(wake);
    const unsubscribe = () => {
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      if (this.waiters.size === 0) void this.release();
    };
    try {
      await this.ready();
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /** Tasks someone waits for. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Keep the connection listening while held, whether anyone waits or not, and reopen it when it breaks.
   * Returns the release, which resolves once the connection went back to the pool (when no one holds it and
   * no one waits).
   */
  hold(): () => Promise<void> {
    this.holders++;
    if (!this.client) this.ready().catch(() => this.reconnectLater());
    let held = true;
    return async () => {
      if (!held) return;
      held = false;
      if (--this.holders > 0) return;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      if (this.waiters.size === 0) await this.release();
    };
  }

  /** Resolves once LISTEN is active (reconnecting when the connection broke). */
  ready(): Promise<PoolClient> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<PoolClient> {
    const client = await this.pool.connect();
    // Its failure is logged once, by the pool's guard, with these fields; onError only recovers.
    describeUse(client, LISTEN_USE);
    client.on("notification", this.onNotification);
    client.on("error", this.onError);
    try {
      await client.query(`LISTEN ${RESULT_CHANNEL}`);
    } catch (error) {
      this.detach(client);
      client.release(error as Error);
      throw error;
    }
    this.client = client;
    this.reconnects = 0;
    // Everyone may have left while LISTEN was on its way.
    if (this.waiters.size === 0) void this.release();
    return client;
  }

  /** A holder's connection broke (or could not be reopened): try again after a growing pause. */
  private reconnectLater(): void {
    if (this.holders === 0 || this.reconnectTimer) return;
    const delay = RECONNECT_MS[Math.min(this.reconnects++, RECONNECT_MS.length - 1)]!;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.holders === 0 || this.client) return;
      this.ready().catch(() => this.reconnectLater());
    }, delay);
    this.reconnectTimer.unref();
  }

  private readonly onNotification = (message: { channel: string; payload?: string }) => {
    // A held connection hears every result write; only the notes someone waits for are parsed (a final
    // state's note carries its row): the address at the note's start says whose it is.
    if (message.channel !== RESULT_CHANNEL || !message.payload || this.waiters.size === 0) return;
    const address = peekNote(message.payload);
    if (address && !this.waiters.has(keyOf(address.schema, address.taskId))) return;
    const note = JSON.parse(message.payload) as ResultNote;
    for (const wake of this.waiters.get(keyOf(note.schema, note.task_id)) ?? []) wake(note);
  };

  private readonly onError = (error: Error) => {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.detach(client);
    client.release(error);
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake(undefined);
    this.reconnectLater();
  };

  /** A client goes back to the pool without our listeners: the next borrower is someone else. */
  private detach(client: PoolClient): void {
    client.removeListener("notification", this.onNotification);
    client.removeListener("error", this.onError);
  }

  private async release(): Promise<void> {
    const client = this.client;
    if (!client || this.holders > 0) return;
    this.client = undefined;
    await client
      .query(`UNLISTEN ${RESULT_CHANNEL}`)
      .then(
        () => undefined,
        (error: Error) => error,
      )
      .then((error) => {
        this.detach(client);
        client.release(error);
      });
  }
}

const keyOf = (schema: string, taskId: string) => `${schema}\u0000${taskId}`;

const listeners = new WeakMap<Pool, ResultListener>();

/**
 * The shared listener of `pool`. The pool is guarded on first use (results/poolErrors.ts; stderr unless a
 * watcher guarded it with its logger first): the connections waits open cannot crash the process.
 */
export function resultListener(pool: Pool): ResultListener {
  let listener = listeners.get(pool);
  if (!listener) {
    guardPool(pool);
    listener = new ResultListener(pool);
    listeners.set(pool, listener);
  }
  return listener;
}
