import { Hono } from "hono";
import { type ReplaySummary, WORKER_COMMANDS, WORKER_REPLY_MS, type WorkerCommand } from "../actions.js";
import type { DashboardServices } from "../createDashboard.js";
import { ConfirmPage, ErrorPage } from "../pages/confirm.js";
import { durationMs, failureGroupTaskIds, replaysQuery } from "../queries/index.js";
import { tables } from "../queries/tables.js";
import { type Ctx, type Env, pageContext } from "./env.js";

type Fields = Record<string, string[]>;

interface Plan {
  question: string;
  details: string[];
  cancel: string;
  danger?: boolean;
  /** Runs once confirmed; returns the message shown and where to go. */
  run: () => Promise<{ message: string; to: string }>;
}

type Planner = (fields: Fields, c: Ctx) => Promise<Plan>;

const one = (fields: Fields, name: string) => fields[name]?.[0]?.trim() ?? "";

/**
 * POST /actions/*: refused (403) unless the caller is an operator and the form carries their CSRF token;
 * without `confirm=1` the answer is a confirmation page describing exactly what will happen.
 */
export function actionRoutes(services: DashboardServices): Hono<Env> {
  const app = new Hono<Env>();
  const planners: Record<string, Planner> = {
    "/revoke": revokePlan(services),
    "/replay": replayPlan(services),
    "/dlq/replay": dlqReplayPlan(services),
    "/dlq/purge": dlqPurgePlan(services),
    "/worker": workerPlan(services),
  };
  for (const [path, plan] of Object.entries(planners))
    app.post(path, (c) => confirmed(services, c, path, plan));
  return app;
}

/** Check who asks, then show the plan for confirmation or, once confirmed, carry it out and redirect. */
async function confirmed(services: DashboardServices, c: Ctx, path: string, plan: Planner) {
  const ctx = pageContext(c, services);
  const fields = await formFields(c);
  if (ctx.principal.role !== "operator") {
    return c.html(
      <ErrorPage
        ctx={ctx}
        status={403}
        message="Only an operator may do this; you are signed in as a viewer."
      />,
      403,
    );
  }
  if (!services.auth.checkCsrf(ctx.principal, fields._csrf?.[0])) {
    return c.html(
      <ErrorPage
        ctx={ctx}
        status={403}
        message="The form's CSRF token is missing or wrong: reload the page and try again."
      />,
      403,
    );
  }
  const { _csrf, confirm, ...rest } = fields;
  const planned = await plan(rest, c);
  if (confirm?.[0] !== "1") {
    return c.html(<ConfirmPage ctx={ctx} action={`/actions${path}`} fields={rest} {...planned} />);
  }
  const who = ctx.principal.user;
  services.logger.info({ action: path, by: who, fields: rest }, "dashboard action");
  const done = await planned.run();
  return c.redirect(
    `${services.base}${done.to}${done.to.includes("?") ? "&" : "?"}flash=${encodeURIComponent(done.message)}`,
    303,
  );
}

function revokePlan({ actions }: DashboardServices): Planner {
  return async (fields, c) => {
    const ids = (fields.id ?? []).filter(Boolean);
    if (ids.length === 0) throw badRequest("name a task id to revoke");
    return {
      question: `Revoke ${ids.length} task(s)? A queued task will be skipped, a running one aborted; both end REVOKED.`,
      details: ids,
      cancel: `/tasks/${encodeURIComponent(ids[0]!)}`,
      danger: true,
      run: async () => {
        const { revoked } = await actions.revoke(ids, c.get("principal").user);
        return { message: `Revoked ${revoked} task(s).`, to: `/tasks/${encodeURIComponent(ids[0]!)}` };
      },
    };
  };
}

/** Failed tasks by id, or a whole failure group (task, error type and message in a window). */
function replayPlan(services: DashboardServices): Planner {
  const { actions, pool, schema } = services;
  return async (fields) => {
    let ids = (fields.id ?? []).filter(Boolean);
    const grouped = one(fields, "task") !== "";
    if (grouped) {
      const window = one(fields, "window") || "24h";
      ids = await failureGroupTaskIds(
        pool,
        schema,
        {
          task: one(fields, "task"),
          errorType: one(fields, "errorType"),
          errorMessage: fields.errorMessage?.[0] ?? "",
        },
        { since: new Date(Date.now() - (durationMs(window) ?? 86_400_000)) },
      );
    }
    if (ids.length === 0) throw badRequest("no failed task to replay");
    const names = await taskNames(services, ids);
    return {
      question: `Replay ${ids.length} failed task(s) from their dead-letter queue as fresh attempts?`,
      details: ids.map((id) => `${names.get(id) ?? "?"} ${id}`),
      cancel: grouped || ids.length > 1 ? "/failures" : `/tasks/${encodeURIComponent(ids[0]!)}`,
      run: async () => {
        const summary = await actions.replayFailed(
          ids.map((taskId) => ({ taskId, name: names.get(taskId) ?? null })),
        );
        // One task: its own page follows the new run live; several: the replay's outcome page.
        if (ids.length === 1)
          return { message: replayMessage(summary), to: `/tasks/${encodeURIComponent(ids[0]!)}` };
        return { message: replayMessage(summary), to: afterReplay(summary, "/failures") };
      },
    };
  };
}

function dlqReplayPlan({ actions }: DashboardServices): Planner {
  return async (fields) => {
    const service = one(fields, "service");
    const ids = (fields.id ?? []).filter(Boolean);
    const reason = one(fields, "reason");
    const all = one(fields, "all") === "1";
    if (!service) throw badRequest("name the service");
    if (!all && !reason && ids.length === 0) throw badRequest("select dead letters to replay");
    const selection = all ? { all: true } : reason ? { reason } : { ids };
    const what = all
      ? "every dead letter"
      : reason
        ? `every dead letter with reason ${reason}`
        : `${ids.length} selected dead letter(s)`;
    return {
      question: `Replay ${what} of ${service} to their tasks as fresh attempts?`,
      details: ids,
      cancel: `/dead-letters/${encodeURIComponent(service)}`,
      run: async () => {
        const summary = await actions.replayDeadLetters(service, selection);
        return {
          message: replayMessage(summary),
          to: afterReplay(summary, `/dead-letters/${encodeURIComponent(service)}`),
        };
      },
    };
  };
}

function dlqPurgePlan({ actions }: DashboardServices): Planner {
  return async (fields) => {
    const service = one(fields, "service");
    if (!service) throw badRequest("name the service");
    return {
      question: `Purge every dead letter of ${service}? They are deleted for good.`,
      details: [],
      cancel: `/dead-letters/${encodeURIComponent(service)}`,
      danger: true,
      run: async () => {
        const { purged } = await actions.purgeDeadLetters(service);
        return { message: `Purged ${purged} dead letter(s) of ${service}.`, to: "/dead-letters" };
      },
    };
  };
}

const WORKER_QUESTIONS: Record<WorkerCommand, (node: string) => string> = {
  pool_grow: (node) => `Grow the pool of ${node} by one (one more task at a time)?`,
  pool_shrink: (node) => `Shrink the pool of ${node} by one (running tasks finish first)?`,
  shutdown: (node) =>
    `Shut down ${node}? It stops taking tasks, lets running ones finish, returns the rest to the queue and exits.`,
};

/** Remote control of one worker from the Workers page: pool_grow, pool_shrink or shutdown. */
function workerPlan({ actions }: DashboardServices): Planner {
  return async (fields) => {
    const node = one(fields, "node");
    const command = one(fields, "command") as WorkerCommand;
    if (!node) throw badRequest("name the worker");
    if (!WORKER_COMMANDS.includes(command)) throw badRequest(`choose one of ${WORKER_COMMANDS.join(", ")}`);
    return {
      question: WORKER_QUESTIONS[command](node),
      details: [],
      cancel: "/workers",
      danger: command === "shutdown",
      run: async () => {
        const reply = (await actions.workerCommand(node, command)) as
          | { ok?: unknown; error?: unknown }
          | undefined;
        const answer = reply?.ok ?? reply?.error;
        const message =
          answer === undefined
            ? `${node} did not answer within ${WORKER_REPLY_MS / 1_000} s${command === "shutdown" ? " (a Celery worker shuts down without answering: watch it go offline here)" : ""}.`
            : `${node}: ${reply?.error === undefined ? "" : "error: "}${String(answer)}`;
        return { message, to: "/workers" };
      },
    };
  };
}

async function formFields(c: Ctx): Promise<Fields> {
  const body = await c.req.parseBody({ all: true });
  const fields: Fields = {};
  for (const [key, value] of Object.entries(body)) {
    fields[key] = (Array.isArray(value) ? value : [value]).filter(
      (item): item is string => typeof item === "string",
    );
  }
  return fields;
}

async function taskNames(services: DashboardServices, ids: readonly string[]): Promise<Map<string, string>> {
  const t = tables(services.schema);
  const { rows } = await services.pool.query<{ task_id: string; name: string | null }>(
    `SELECT r.task_id, COALESCE(r.name, k.name) AS name FROM ${t.results} r
       LEFT JOIN ${t.tracking} k ON k.task_id = r.task_id WHERE r.task_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.filter((row) => row.name).map((row) => [row.task_id, row.name!]));
}

/** The replay's outcome page (live) when something was replayed; else back to where the operator was. */
function afterReplay(summary: ReplaySummary, otherwise: string): string {
  if (summary.replays.length === 0) return otherwise;
  return `/replays?${replaysQuery(summary.replays)}&total=${summary.replays.length}`;
}

function replayMessage(summary: ReplaySummary): string {
  const parts = [`Replayed ${summary.replayed} of ${summary.matched} matching dead letter(s).`];
  if (summary.missing.length > 0)
    parts.push(`${summary.missing.length} not found among the dead letters (purged or replayed already).`);
  if (summary.failed.length > 0)
    parts.push(`${summary.failed.length} could not be republished: ${summary.failed[0]!.error}`);
  return parts.join(" ");
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { code: "CONFIG_INVALID" });
}
