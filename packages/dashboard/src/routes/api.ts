import { Hono } from "hono";
import type { DashboardServices } from "../createDashboard.js";
import { getTaskDetail, parseTaskFilter, searchTasks } from "../queries/index.js";
import { failuresSince, overviewData, replaysWithin, workerData, workersData } from "./data.js";
import { type Env, taskQuery } from "./env.js";

/** The same data as the pages, as JSON, for scripts and other tools (read-only; actions are forms). */
export function apiRoutes(services: DashboardServices): Hono<Env> {
  const { pool, schema } = services;
  const app = new Hono<Env>();
  app.get("/overview", async (c) => c.json(await overviewData(services)));
  app.get("/tasks", async (c) => {
    const filter = parseTaskFilter(taskQuery(c));
    const limit = Number(c.req.query("limit") ?? 50);
    const before = c.req.query("before");
    return c.json(await searchTasks(pool, schema, filter, { limit, ...(before ? { before } : {}) }));
  });
  app.get("/tasks/:id", async (c) => {
    const task = await getTaskDetail(pool, schema, c.req.param("id"));
    return c.json(task, task.unknown ? 404 : 200);
  });
  app.get("/failures", async (c) => c.json(await failuresSince(services, c.req.query("window") ?? "24h")));
  app.get("/replays", async (c) => c.json(await replaysWithin(services, c.req.query("window") ?? "24h")));
  app.get("/workers", async (c) => c.json(await workersData(services)));
  app.get("/workers/:node", async (c) => {
    const data = await workerData(services, c.req.param("node"));
    return data ? c.json(data) : c.json({ error: "no such worker" }, 404);
  });
  return app;
}
