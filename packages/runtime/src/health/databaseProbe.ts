import { ToolboxError } from "@worker-toolbox/config";

/** Anything that runs a query: a pg.Pool or a pg.Client. */
export interface Queryable {
  query(text: string): Promise<unknown>;
}

export type ProbeResult = { ok: true; checkedAt: number } | { ok: false; checkedAt: number; reason: string };

export interface DatabaseProbeOptions {
  /** How long `select 1` may take before the database counts as unreachable; default 1000 ms. */
  timeoutMs?: number;
  /** How long an answer is reused, so frequent probes do not each cost a query; default 2000 ms. */
  cacheMs?: number;
}

/**
 * Run `select 1` and resolve once it answered within `timeoutMs`; reject with DATABASE_UNAVAILABLE
 * otherwise. The query itself is not cancelled on timeout (pg cannot without a second connection).
 */
export async function pingDatabase(db: Queryable, timeoutMs: number): Promise<void> {
  return answerWithin(db.query("select 1"), timeoutMs);
}

/**
 * Resolve once `check` (a query, or a write check) settled within `timeoutMs`; a typed error it rejects with
 * passes through, anything else becomes DATABASE_UNAVAILABLE.
 */
export function databaseAnswerWithin(check: Promise<unknown>, timeoutMs: number): Promise<void> {
  return answerWithin(check, timeoutMs);
}

/**
 * Readiness of a database, cached: at most one `select 1` in flight however often it is asked, and an
 * answer younger than `cacheMs` is reused. A query that hangs (server stopped without closing sockets,
 * pool exhausted) is not started again while it is still pending: later checks wait on it afresh.
 */
export class DatabaseProbe {
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private last: ProbeResult | undefined;
  private checking: Promise<ProbeResult> | undefined;
  private pending: Promise<unknown> | undefined;

  constructor(
    private readonly ping: (timeoutMs: number) => Promise<unknown>,
    options: DatabaseProbeOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.cacheMs = options.cacheMs ?? 2_000;
  }

  check(): Promise<ProbeResult> {
    if (this.last && Date.now() - this.last.checkedAt < this.cacheMs) return Promise.resolve(this.last);
    this.checking ??= this.run().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async run(): Promise<ProbeResult> {
    if (!this.pending) {
      // The ping gets a generous own deadline; the readiness answer uses `timeoutMs` below.
      const pending = this.ping(this.timeoutMs * 10);
      this.pending = pending;
      pending.then(
        () => this.clear(pending),
        () => this.clear(pending),
      );
    }
    try {
      await answerWithin(this.pending, this.timeoutMs);
      this.last = { ok: true, checkedAt: Date.now() };
    } catch (error) {
      this.last = { ok: false, checkedAt: Date.now(), reason: reasonOf(error) };
    }
    return this.last;
  }

  private clear(pending: Promise<unknown>): void {
    if (this.pending === pending) this.pending = undefined;
  }
}

async function answerWithin(query: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ToolboxError(
            "DATABASE_UNAVAILABLE",
            `The database did not answer \`select 1\` within ${timeoutMs} ms.`,
            { hint: "check that PostgreSQL is up and reachable, and that the pool is not exhausted" },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([query, deadline]);
  } catch (error) {
    if (error instanceof ToolboxError) throw error;
    throw new ToolboxError("DATABASE_UNAVAILABLE", `The database did not answer: ${firstLine(error)}`, {
      cause: error,
      hint: "check that PostgreSQL is up and reachable (DATABASE_URL)",
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Why readiness fails, on one line: a typed error's code, message and fix; else the message's first line. */
function reasonOf(error: unknown): string {
  if (error instanceof ToolboxError) return `${error.code}: ${error.message.replace(/\s*\n\s*/g, " ")}`;
  return firstLine(error);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
