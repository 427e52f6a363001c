import { Hono } from "hono";
import type { ReplaySummary } from "../actions.js";
import type { DashboardServices } from "../createDashboard.js";
import { ConfirmPage, ErrorPage } from "../pages/confirm.js";
import { durationMs, failureGroupTaskIds, replaysQuery } from "../queries/index.js";
import { tables } from "../queries/tables.js";
import { type Ctx, type Env, pageContext } from "./env.js";
import { badRequest, type Fields, one, type Planner } from "./plan.js";
import { queuePlan, workerPlan } from "./workerPlans.js";

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
    "/worker/queue": queuePlan(services),
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
  // The audit trail: who asked for what, then what came of it (a worker's refusal and its reason included).
  const audit = { action: path, by: who, fields: rest };
  services.logger.info(audit, "dashboard action");
  const done = await planned.run().catch((error: Error) => {
    services.logger.warn({ ...audit, err: error.message }, "dashboard action failed");
    throw error;
  });
  services.logger.info({ ...audit, outcome: done.message }, "dashboard action done");
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
