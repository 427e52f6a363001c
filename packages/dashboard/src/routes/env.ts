import type { Context } from "hono";
import type { Principal } from "../auth.js";
import type { DashboardServices } from "../createDashboard.js";
import type { PageContext } from "../pages/layout.js";

/** What the auth middleware leaves on every request's context. */
export type Env = { Variables: { principal: Principal } };
export type Ctx = Context<Env>;

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
