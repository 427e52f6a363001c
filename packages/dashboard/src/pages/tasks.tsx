import { TASK_STATES, type TaskPage } from "../queries/index.js";
import { brief, time } from "./format.js";
import { Empty, Layout, type PageContext, StatusBadge } from "./layout.js";

/** The raw filter fields as typed (re-shown in the form). */
export interface TaskQuery {
  service?: string;
  task?: string;
  state?: string[];
  since?: string;
  until?: string;
  root?: string;
  group?: string;
  arg?: string;
}

export function TasksPage(props: {
  ctx: PageContext;
  query: TaskQuery;
  page: TaskPage;
  services: string[];
  taskNames: string[];
  error?: string | undefined;
}) {
  const { ctx, query, page } = props;
  const states = new Set(query.state ?? []);
  const next = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of ([] as string[]).concat(value ?? [])) if (item) next.append(key, item);
  }
  if (page.next) next.set("before", page.next);
  return (
    <Layout ctx={ctx} title="Tasks" current="/tasks" topics={["tasks"]}>
      <h1>Tasks</h1>
      <form method="get" action={`${ctx.base}/tasks`} class="filters" id="task-filters" data-keep>
        <label>
          service
          <select name="service">
            <option value="">any</option>
            {props.services.map((service) => (
              <option value={service} selected={query.service === service}>
                {service}
              </option>
            ))}
          </select>
        </label>
        <label>
          task
          <input name="task" list="task-names" value={query.task ?? ""} placeholder="name, any version" />
          <datalist id="task-names">
            {props.taskNames.map((name) => (
              <option value={name} />
            ))}
          </datalist>
        </label>
        <label>
          state
          <select name="state" multiple size={3}>
            {TASK_STATES.map((state) => (
              <option value={state} selected={states.has(state)}>
                {state}
              </option>
            ))}
          </select>
        </label>
        <label>
          since
          <input name="since" value={query.since ?? ""} placeholder="1h, 7d, 2026-12-01" size={10} />
        </label>
        <label>
          until
          <input name="until" value={query.until ?? ""} placeholder="now" size={10} />
        </label>
        <label>
          root id
          <input name="root" value={query.root ?? ""} size={12} />
        </label>
        <label>
          group id
          <input name="group" value={query.group ?? ""} size={12} />
        </label>
        <label>
          argument
          <input name="arg" value={query.arg ?? ""} placeholder="invoice-7, 42, user_id=42" />
        </label>
        <label>
          task id
          <input name="id" placeholder="open a task" size={12} />
        </label>
        <button type="submit">Search</button> <a href={`${ctx.base}/tasks`}>reset</a>
      </form>
      {props.error ? <p class="warning">{props.error}</p> : null}
      {page.tasks.length === 0 ? (
        <Empty>No task matches.</Empty>
      ) : (
        <table class="tasks">
          <thead>
            <tr>
              <th>scheduled (UTC)</th>
              <th>task</th>
              <th>state</th>
              <th>arguments</th>
              <th>finished</th>
              <th>id</th>
            </tr>
          </thead>
          <tbody>
            {page.tasks.map((task) => (
              <tr data-task-id={task.taskId}>
                <td class="nowrap">{time(task.createdAt)}</td>
                <td>{task.name}</td>
                <td>
                  <StatusBadge status={task.status} />
                  {task.retries > 0 ? <span class="note"> retries {task.retries}</span> : null}
                </td>
                <td class="args">
                  <code>{brief(task.args, 60)}</code>
                  {Object.keys(task.kwargs ?? {}).length > 0 ? <code> {brief(task.kwargs, 60)}</code> : null}
                  {task.errorType ? (
                    <div class="error">{`${task.errorType}: ${task.errorMessage ?? ""}`}</div>
                  ) : null}
                </td>
                <td class="nowrap">{time(task.dateDone)}</td>
                <td>
                  <a href={`${ctx.base}/tasks/${encodeURIComponent(task.taskId)}`} class="mono">
                    {task.taskId.slice(0, 8)}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.next ? (
        <p>
          <a href={`${ctx.base}/tasks?${next.toString()}`} rel="next" class="next">
            Older →
          </a>
        </p>
      ) : null}
    </Layout>
  );
}
