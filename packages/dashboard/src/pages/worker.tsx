import type { WorkerQueues } from "../workers/workerQueues.js";
import type { WorkerInfo } from "../workers/workerRegistry.js";
import { count, since } from "./format.js";
import { ActionForm, Layout, type PageContext } from "./layout.js";

/** One worker's page: what its heartbeats say and the queues it consumes (its `active_queues`). */
export interface WorkerPageData {
  node: string;
  /** Its last heartbeat; undefined for a worker that answers remote control but sends no events. */
  worker: WorkerInfo | undefined;
  /** Undefined when it is offline (not asked). */
  queues: WorkerQueues | undefined;
  /** A toolbox worker's service and queue (from its heartbeats). */
  own: { service: string; queue: string } | undefined;
  replyMs: number;
}

export function WorkerPage(props: { ctx: PageContext; data: WorkerPageData }) {
  const { ctx, data } = props;
  const { worker, queues, own } = data;
  const online = worker?.online ?? queues?.answered === true;
  const operator = ctx.principal.role === "operator";
  const outOfRotation =
    own !== undefined &&
    queues?.answered === true &&
    !queues.queues.some((queue) => queue.name === own.queue);
  return (
    <Layout ctx={ctx} title={data.node} current="/workers" topics={["workers"]}>
      <h1>
        <span class="mono">{data.node}</span>{" "}
        <span class={`status status-${online ? "online" : "offline"}`}>{online ? "online" : "offline"}</span>
      </h1>
      <dl>
        <dt>service</dt>
        <dd>{worker?.service ?? "-"}</dd>
        <dt>software</dt>
        <dd>{worker?.software ?? "-"}</dd>
        <dt>concurrency</dt>
        <dd>{count(worker?.concurrency)}</dd>
        <dt>running</dt>
        <dd>{count(worker?.active)}</dd>
        <dt>processed</dt>
        <dd>{count(worker?.processed)}</dd>
        <dt>last seen</dt>
        <dd>{worker ? since(worker.lastSeen) : "no heartbeat heard"}</dd>
      </dl>
      <h2>Queues</h2>
      {outOfRotation ? (
        <div class="warning" id="out-of-rotation">
          Out of rotation: {data.node} does not consume {own.queue}, the queue of its service {own.service},
          so it takes no new {own.service} tasks.{" "}
          <ActionForm
            ctx={ctx}
            action="/actions/worker/queue"
            label={`Consume ${own.queue} again`}
            fields={{ node: data.node, command: "add_consumer", queue: own.queue }}
          />
        </div>
      ) : null}
      <QueueList ctx={ctx} data={data} />
      {operator && queues?.answered ? (
        <form
          method="post"
          action={`${ctx.base}/actions/worker/queue`}
          class="filters"
          id="add-consumer"
          data-keep
        >
          <input type="hidden" name="_csrf" value={ctx.csrf} />
          <input type="hidden" name="node" value={data.node} />
          <input type="hidden" name="command" value="add_consumer" />
          <label>
            queue
            <input name="queue" required maxlength={255} placeholder="a queue declared elsewhere" />
          </label>
          <button type="submit">Add consumer</button>
        </form>
      ) : null}
    </Layout>
  );
}

function QueueList(props: { ctx: PageContext; data: WorkerPageData }) {
  const { ctx, data } = props;
  const { queues, own } = data;
  if (queues === undefined)
    return <p class="note">The worker is offline: there is no one to ask which queues it consumes.</p>;
  if (!queues.answered)
    return (
      <p class="warning">
        {data.node} did not answer active_queues within {String(data.replyMs / 1_000)} s (busy, gone, or not
        listening to remote control).
      </p>
    );
  if (queues.queues.length === 0) return <p class="empty">It consumes no queue: it takes no tasks.</p>;
  return (
    <table class="queues">
      <thead>
        <tr>
          <th>queue</th>
          <th>exchange</th>
          <th>routing key</th>
          <th />
          {ctx.principal.role === "operator" ? <th /> : null}
        </tr>
      </thead>
      <tbody>
        {queues.queues.map((queue) => (
          <tr data-queue={queue.name}>
            <td class="mono">{queue.name}</td>
            <td class="mono">{queue.exchange === "" ? "(default)" : queue.exchange}</td>
            <td class="mono">{queue.routingKey}</td>
            <td class="note">{queue.name === own?.queue ? "its service's queue" : ""}</td>
            {ctx.principal.role === "operator" ? (
              <td class="actions">
                <ActionForm
                  ctx={ctx}
                  action="/actions/worker/queue"
                  label="Cancel consumer"
                  fields={{ node: data.node, command: "cancel_consumer", queue: queue.name }}
                  danger={queue.name === own?.queue || queues.queues.length === 1}
                />
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
