import { isToolboxError } from "@worker-toolbox/config";
import { Hono } from "hono";
import type { DashboardServices } from "../createDashboard.js";
import { ErrorPage } from "../pages/confirm.js";
import { DeadLetterQueuePage, DeadLettersPage } from "../pages/deadLetters.js";
import { FAILURE_WINDOWS, FailuresPage } from "../pages/failures.js";
import { OverviewPage } from "../pages/overview.js";
import { ReplayBatchPage } from "../pages/replays.js";
import { TaskDetailPage } from "../pages/taskDetail.js";
import { type TaskQuery, TasksPage } from "../pages/tasks.js";
import { WorkerPage } from "../pages/worker.js";
import { WorkersPage } from "../pages/workers.js";
import {
  getTaskDetail,
  listTaskNames,
  parseReplays,
  parseTaskFilter,
  replayBatch,
  searchTasks,
  type TaskPage,
} from "../queries/index.js";
import { failuresSince, overviewData, replaysWithin, workerData, workersData } from "./data.js";
import { type Ctx, type Env, pageContext, taskQuery } from "./env.js";

export function pageRoutes(services: DashboardServices): Hono<Env> {
  const { pool, schema } = services;
  const app = new Hono<Env>();

  app.get("/", async (c) =>
    c.html(<OverviewPage ctx={pageContext(c, services)} data={await overviewData(services)} />),
  );

  app.get("/tasks", (c) => tasksPage(c, services));

  app.get("/tasks/:id", async (c) => {
    const task = await getTaskDetail(pool, schema, c.req.param("id"));
    return c.html(<TaskDetailPage ctx={pageContext(c, services)} task={task} />, task.unknown ? 404 : 200);
  });

  app.get("/failures", async (c) => {
    const window = (FAILURE_WINDOWS as readonly string[]).includes(c.req.query("window") ?? "")
      ? c.req.query("window")!
      : "24h";
    const [groups, replays] = await Promise.all([
      failuresSince(services, window),
      replaysWithin(services, window),
    ]);
    return c.html(
      <FailuresPage ctx={pageContext(c, services)} window={window} groups={groups} replays={replays} />,
    );
  });

  // Where a replay from the dashboard lands: what became of each replayed task, live.
  app.get("/replays", async (c) => {
    const named = c.req.queries("r") ?? [];
    const batch = await replayBatch(pool, schema, parseReplays(named));
    const total = Number(c.req.query("total")) || batch.tasks.length;
    return c.html(<ReplayBatchPage ctx={pageContext(c, services)} batch={batch} total={total} />);
  });

  app.get("/dead-letters", async (c) => {
    const snapshot = await services.broker.snapshot();
    const summaries = await services.broker.deadLetterSummaries();
    return c.html(
      <DeadLettersPage
        ctx={pageContext(c, services)}
        summaries={summaries}
        {...(snapshot.error ? { error: snapshot.error } : {})}
      />,
    );
  });

  app.get("/dead-letters/:service", async (c) => {
    const service = c.req.param("service");
    const listing = await services.broker.deadLetters(service);
    return c.html(
      <DeadLetterQueuePage
        ctx={pageContext(c, services)}
        service={service}
        total={listing.total}
        letters={listing.letters}
      />,
    );
  });

  app.get("/workers", async (c) => {
    const data = await workersData(services);
    return c.html(<WorkersPage ctx={pageContext(c, services)} {...data} />);
  });

  app.get("/workers/:node", async (c) => {
    const ctx = pageContext(c, services);
    const node = c.req.param("node");
    const data = await workerData(services, node);
    if (!data) {
      const message = `No worker ${node} heard on the event exchange, and none of that name answered.`;
      return c.html(<ErrorPage ctx={ctx} status={404} message={message} />, 404);
    }
    return c.html(<WorkerPage ctx={ctx} data={data} />);
  });

  app.notFound((c) =>
    c.html(<ErrorPage ctx={pageContext(c, services)} status={404} message="No such page." />, 404),
  );
  return app;
}

/** The task list: the filter from the query string, one keyset page, and the filter form's choices. */
async function tasksPage(c: Ctx, services: DashboardServices) {
  const { pool, schema } = services;
  const id = c.req.query("id")?.trim();
  if (id) return c.redirect(`${services.base}/tasks/${encodeURIComponent(id)}`);
  const query: TaskQuery = taskQuery(c);
  let page: TaskPage = { tasks: [], next: undefined };
  let error: string | undefined;
  try {
    const before = c.req.query("before");
    page = await searchTasks(pool, schema, parseTaskFilter({ ...query }), before ? { before } : {});
  } catch (caught) {
    if (!isToolboxError(caught)) throw caught;
    error = `${caught.message} ${caught.hint ?? ""}`;
  }
  const [names, serviceList] = await Promise.all([
    listTaskNames(pool, schema),
    services.broker.services().catch(() => []),
  ]);
  const allServices = [...new Set([...serviceList, ...names.map((name) => name.split(".")[0]!)])].sort();
  return c.html(
    <TasksPage
      ctx={pageContext(c, services)}
      query={query}
      page={page}
      services={allServices}
      taskNames={names}
      error={error}
    />,
  );
}
