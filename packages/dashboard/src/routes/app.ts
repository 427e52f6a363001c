import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { timing } from "hono/timing";
import type { DashboardServices } from "../createDashboard.js";
import { actionRoutes } from "./actions.js";
import { apiRoutes } from "./api.js";
import type { Env } from "./env.js";
import { eventRoutes } from "./events.js";
import { pageRoutes } from "./pages.js";

/** The static client files, read once: the installed package carries them (no CDN, no build at run time). */
const ASSETS: Record<string, { type: string; body: string }> = Object.fromEntries(
  [
    ["app.js", "text/javascript; charset=utf-8"],
    ["app.css", "text/css; charset=utf-8"],
  ].map(([file, type]) => [
    file,
    { type: type!, body: readFileSync(new URL(`../../assets/${file}`, import.meta.url), "utf8") },
  ]),
);

/**
 * The dashboard's HTTP surface: pages (server-rendered, escaped by JSX), a JSON API under /api, server-sent
 * events under /events, and POST actions that need the operator role, a CSRF token and a confirmation.
 */
export function createApp(services: DashboardServices): Hono<Env> {
  const app = new Hono<Env>();
  app.use(
    "*",
    secureHeaders({
      // No inline script or style anywhere: an injected <script> could not run even if it reached the page.
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: "same-origin",
    }),
  );
  // `Server-Timing: total;dur=…` on every answer but the event stream: the server-side time the bench reads.
  const timed = timing({ crossOrigin: false });
  app.use("*", (c, next) => (c.req.path === "/events" ? next() : timed(c, next)));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/assets/:file", (c) => {
    const asset = ASSETS[c.req.param("file")];
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "no-cache" });
  });
  app.use("*", async (c, next) => {
    const principal = services.auth.authenticate(c.req.header("authorization"));
    if (!principal) {
      return c.text("Sign in as viewer or operator.", 401, {
        "www-authenticate": 'Basic realm="worker-toolbox dashboard", charset="UTF-8"',
      });
    }
    c.set("principal", principal);
    return next();
  });
  // Cross-site form posts are refused by their Origin before the CSRF token is even looked at.
  app.use("/actions/*", csrf());
  app.route("/", eventRoutes(services));
  app.route("/api", apiRoutes(services));
  app.route("/actions", actionRoutes(services));
  app.route("/", pageRoutes(services));
  app.onError((error, c) => {
    services.logger.warn({ err: error.message, path: c.req.path }, "dashboard request failed");
    const code = (error as { code?: string }).code;
    const status = code === "CONFIG_INVALID" || code === "MESSAGE_INVALID" ? 400 : 500;
    return c.json({ error: error.message, code }, status);
  });
  return app;
}
