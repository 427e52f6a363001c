import { FINAL_STATES } from "@worker-toolbox/runtime/results";
import type { FamilyMember, TaskDetail } from "../queries/index.js";
import { pretty, time } from "./format.js";
import { ActionForm, Empty, Layout, type PageContext, StatusBadge } from "./layout.js";

export function TaskDetailPage(props: { ctx: PageContext; task: TaskDetail }) {
  const { ctx, task } = props;
  const final = (FINAL_STATES as readonly string[]).includes(task.status);
  const tracking = task.tracking;
  const result = task.result;
  return (
    <Layout ctx={ctx} title={task.name ?? task.taskId} current="/tasks" topics={["tasks"]}>
      <h1>
        {task.name ?? "unknown task"} <StatusBadge status={task.status} />
      </h1>
      <p class="mono" id="task-id">
        {task.taskId}
      </p>
      {task.unknown ? (
        <p class="warning">Nothing is recorded for this id: no tracking row and no result.</p>
      ) : null}
      <div class="actions">
        {!final && !task.unknown ? (
          <ActionForm ctx={ctx} action="/actions/revoke" label="Revoke" fields={{ id: task.taskId }} danger />
        ) : null}
        {task.status === "FAILURE" ? (
          <ActionForm ctx={ctx} action="/actions/replay" label="Replay" fields={{ id: task.taskId }} />
        ) : null}
      </div>
      <section class="grid">
        <dl>
          <dt>scheduled</dt>
          <dd>{time(tracking?.createdAt)}</dd>
          <dt>started</dt>
          <dd>{time(result?.startedAt)}</dd>
          <dt>finished</dt>
          <dd>{time(result?.dateDone)}</dd>
          <dt>worker</dt>
          <dd>{result?.worker ?? "-"}</dd>
          <dt>retries</dt>
          <dd>{String(result?.retries ?? tracking?.retries ?? 0)}</dd>
          <dt>eta</dt>
          <dd>{time(tracking?.eta)}</dd>
          <dt>expires</dt>
          <dd>{time(tracking?.expires)}</dd>
          <dt>trace id</dt>
          <dd class="mono">{task.traceId ?? "-"}</dd>
          <dt>group</dt>
          <dd id="task-group">
            {tracking?.groupId ? (
              <>
                <a class="mono" href={`${ctx.base}/tasks?group=${encodeURIComponent(tracking.groupId)}`}>
                  {tracking.groupId}
                </a>
                {tracking.groupIndex === null ? null : ` · member ${tracking.groupIndex}`}
              </>
            ) : (
              "-"
            )}
          </dd>
        </dl>
        <div>
          <h2>Tracking metadata</h2>
          <pre>{pretty(tracking?.tracking ?? {})}</pre>
        </div>
      </section>
      <section>
        <h2>Arguments</h2>
        {tracking ? null : (
          <p class="note">
            No tracking row yet: the tracker records a task's arguments from the platform queue.
          </p>
        )}
        <h3>args</h3>
        <pre id="task-args">{pretty(tracking?.args ?? [])}</pre>
        <h3>kwargs</h3>
        <pre id="task-kwargs">{pretty(tracking?.kwargs ?? {})}</pre>
      </section>
      <Outcome task={task} />
      <section>
        <h2>States</h2>
        {task.states.length === 0 ? (
          <Empty>No recorded state changes.</Empty>
        ) : (
          <table class="states">
            <thead>
              <tr>
                <th>at (UTC)</th>
                <th>state</th>
                <th title="0: the original run; n: the n-th replay (a replay's outcome replaces the earlier one)">
                  run
                </th>
                <th>retries</th>
                <th>worker</th>
                <th>details</th>
              </tr>
            </thead>
            <tbody>
              {task.states.map((state) => (
                <tr data-generation={String(state.generation)}>
                  <td class="nowrap">{time(state.at)}</td>
                  <td>
                    <StatusBadge status={state.status} />
                  </td>
                  <td>{state.generation === 0 ? "original" : `replay ${state.generation}`}</td>
                  <td>{String(state.retries ?? "-")}</td>
                  <td>{state.worker ?? "-"}</td>
                  <td>
                    {state.meta !== null && state.meta !== undefined ? (
                      <code>{JSON.stringify(state.meta)}</code>
                    ) : null}
                    {state.error ? (
                      <code>{`${state.error.type ?? "Error"}: ${state.error.message ?? ""}`}</code>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Family</h2>
        <p>
          root{" "}
          <a class="mono" href={`${ctx.base}/tasks/${encodeURIComponent(task.rootId)}`}>
            {task.rootId}
          </a>
          {task.parentId ? (
            <>
              {" "}
              · parent{" "}
              <a class="mono" href={`${ctx.base}/tasks/${encodeURIComponent(task.parentId)}`}>
                {task.parentId}
              </a>
            </>
          ) : null}
        </p>
        <FamilyTree ctx={ctx} family={task.family} current={task.taskId} rootId={task.rootId} />
        {task.familyTruncated ? <p class="note">Only the first members of this family are shown.</p> : null}
      </section>
    </Layout>
  );
}

function Outcome(props: { task: TaskDetail }) {
  const result = props.task.result;
  if (!result) return null;
  if (result.status === "SUCCESS") {
    return (
      <section>
        <h2>Result</h2>
        <pre id="task-result">{pretty(result.value)}</pre>
      </section>
    );
  }
  if (!result.error && !result.traceback && result.meta === null) return null;
  return (
    <section>
      <h2>{result.status === "PROGRESS" ? "Progress" : "Exception"}</h2>
      {result.error ? (
        <p class="error">
          <strong>{result.error.type}</strong>: {result.error.message}
        </p>
      ) : null}
      {result.meta !== null && result.meta !== undefined ? <pre>{pretty(result.meta)}</pre> : null}
      {result.traceback || result.error?.stack ? (
        <pre class="traceback">{result.traceback ?? result.error?.stack}</pre>
      ) : null}
    </section>
  );
}

/** The family as nested lists, from the root down (members whose parent is unknown hang off the root). */
function FamilyTree(props: { ctx: PageContext; family: FamilyMember[]; current: string; rootId: string }) {
  const ids = new Set(props.family.map((member) => member.taskId));
  const children = new Map<string, FamilyMember[]>();
  for (const member of props.family) {
    if (member.taskId === props.rootId) continue;
    const parent = member.parentId && ids.has(member.parentId) ? member.parentId : props.rootId;
    children.set(parent, [...(children.get(parent) ?? []), member]);
  }
  const root = props.family.find((member) => member.taskId === props.rootId);
  const render = (member: FamilyMember | undefined, id: string, depth: number): unknown => (
    <li>
      <a
        href={`${props.ctx.base}/tasks/${encodeURIComponent(id)}`}
        class={id === props.current ? "current" : undefined}
      >
        {member?.name ?? id}
      </a>{" "}
      <StatusBadge status={member?.status ?? "PENDING"} /> <span class="mono note">{id.slice(0, 8)}</span>
      {depth < 20 && (children.get(id)?.length ?? 0) > 0 ? (
        <ul>{children.get(id)!.map((child) => render(child, child.taskId, depth + 1))}</ul>
      ) : null}
    </li>
  );
  return <ul class="tree">{render(root, props.rootId, 0) as never}</ul>;
}
