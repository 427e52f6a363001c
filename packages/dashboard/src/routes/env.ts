import type { Context } from "hono";
import type { Principal } from "../auth.js";
import type { DashboardServices } from "../createDashboard.js";
import type { PageContext } from "../pages/layout.js";

/** What the auth middleware leaves on every request's context. */
export type Env = { Variables: { principal: Principal } };
export type Ctx = Context<Env>;

/** The task-list filter fields of a request's query string (the Tasks page and /api/tasks). */
export function taskQuery(c: Ctx) {
  return {
    service: c.req.query("service"),
    task: c.req.query("task"),
    state: c.req.queries("state") ?? [],
    since: c.req.query("since"),
    until: c.req.query("until"),
    root: c.req.query("root"),
    group: c.req.query("group"),
    arg: c.req.query("arg"),
  };
}

export function pageContext(c: Ctx, services: DashboardServices): PageContext {
  const principal = c.get("principal");
  const flash = c.req.query("flash");
  return {
    base: services.base,
    principal,
    csrf: services.auth.csrfToken(principal),
    flash: flash ? flash.slice(0, 500) : undefined,
  };
}
