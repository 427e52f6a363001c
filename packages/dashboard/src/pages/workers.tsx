import type { VersionSkew, WorkerInfo } from "../workers/workerRegistry.js";
import { count, since } from "./format.js";
import { ActionForm, Empty, Layout, type PageContext } from "./layout.js";

export function WorkersPage(props: {
  ctx: PageContext;
  workers: WorkerInfo[];
  skew: VersionSkew;
  eventExchange: string;
}) {
  const { ctx, skew } = props;
  return (
    <Layout ctx={ctx} title="Workers" current="/workers" topics={["workers"]}>
      <h1>Workers</h1>
      {skew.mixedVersions.map((entry) => (
        <p class="warning">
          Version skew: {entry.service} runs toolbox {entry.versions.join(" and ")}.
        </p>
      ))}
      {skew.unimplemented.map((entry) => (
        <p class="warning">
          {entry.task} was sent in the last 24 h but no live {entry.service} worker implements it.
        </p>
      ))}
      {props.workers.length === 0 ? (
        <Empty>
          No worker heartbeat heard yet on {props.eventExchange}. Toolbox workers send them when events are
          on; Celery workers with <code>-E</code> (or heartbeats enabled).
        </Empty>
      ) : (
        <table class="workers">
          <thead>
            <tr>
              <th>state</th>
              <th>worker</th>
              <th class="num">pid</th>
              <th>service</th>
              <th>toolbox</th>
              <th>software</th>
              <th class="num">concurrency</th>
              <th class="num">running</th>
              <th class="num">processed</th>
              <th>last seen</th>
              <th>tasks</th>
              {ctx.principal.role === "operator" ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {props.workers.map((worker) => (
              <tr data-worker={worker.hostname} class={worker.online ? "online" : "offline"}>
                <td>
                  <span class={`status status-${worker.online ? "online" : "offline"}`}>
                    {worker.online ? "online" : "offline"}
                  </span>
                  {worker.offlineReason === "missed-heartbeats" ? (
                    <span class="note"> missed heartbeats</span>
                  ) : null}
                </td>
                <td class="mono">
                  <a href={`${ctx.base}/workers/${encodeURIComponent(worker.hostname)}`}>{worker.hostname}</a>
                </td>
                <td class="num">{worker.pid === undefined ? "-" : String(worker.pid)}</td>
                <td>{worker.service ?? "-"}</td>
                <td class="toolbox-version">{worker.toolboxVersion ?? "-"}</td>
                <td>{worker.software ?? "-"}</td>
                <td class="num">{count(worker.concurrency)}</td>
                <td class="num">{count(worker.active)}</td>
                <td class="num">{count(worker.processed)}</td>
                <td class="nowrap">{since(worker.lastSeen)}</td>
                <td class="tasks">{worker.tasks ? worker.tasks.join(", ") : "-"}</td>
                {ctx.principal.role === "operator" ? (
                  <td class="actions">
                    {worker.online ? <WorkerActions ctx={ctx} node={worker.hostname} /> : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

/** Remote control of an online worker (Celery's `app.control`), each after a confirmation; operators only. */
function WorkerActions(props: { ctx: PageContext; node: string }) {
  const { ctx, node } = props;
  return (
    <>
      <ActionForm
        ctx={ctx}
        action="/actions/worker"
        label="Grow pool"
        fields={{ node, command: "pool_grow" }}
      />
      <ActionForm
        ctx={ctx}
        action="/actions/worker"
        label="Shrink pool"
        fields={{ node, command: "pool_shrink" }}
      />
      <ActionForm
        ctx={ctx}
        action="/actions/worker"
        label="Shut down"
        fields={{ node, command: "shutdown" }}
        danger
      />
    </>
  );
}
