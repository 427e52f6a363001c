import type { RecentReplays } from "@worker-toolbox/runtime/results";
import type { FailureGroup } from "../queries/index.js";
import { count, time } from "./format.js";
import { ActionForm, Empty, Layout, type PageContext, StatusBadge } from "./layout.js";

export const FAILURE_WINDOWS = ["1h", "24h", "7d"] as const;

export function FailuresPage(props: {
  ctx: PageContext;
  window: string;
  groups: FailureGroup[];
  replays: RecentReplays;
}) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title="Failures" current="/failures" topics={["failures"]}>
      <h1>Failures</h1>
      <p class="tabs">
        last{" "}
        {FAILURE_WINDOWS.map((window) => (
          <a
            href={`${ctx.base}/failures?window=${window}`}
            class={window === props.window ? "current" : undefined}
          >
            {window}
          </a>
        ))}
      </p>
      {props.groups.length === 0 ? (
        <Empty>No task failed in the last {props.window}.</Empty>
      ) : (
        <table class="failures">
          <thead>
            <tr>
              <th>task</th>
              <th>error</th>
              <th class="num">count</th>
              <th>first seen (UTC)</th>
              <th>last seen (UTC)</th>
              <th>sample</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.groups.map((group) => (
              <tr data-task={group.task}>
                <td>
                  <a
                    href={`${ctx.base}/tasks?state=FAILURE&task=${encodeURIComponent(group.task)}&since=${props.window}`}
                  >
                    {group.task}
                  </a>
                </td>
                <td class="error">
                  <strong>{group.errorType}</strong>: {group.errorMessage}
                </td>
                <td class="num">{count(group.count)}</td>
                <td class="nowrap">{time(group.firstSeen)}</td>
                <td class="nowrap">{time(group.lastSeen)}</td>
                <td>
                  <a href={`${ctx.base}/tasks/${encodeURIComponent(group.sampleTaskId)}`} class="mono sample">
                    {group.sampleTaskId.slice(0, 8)}
                  </a>
                </td>
                <td class="actions">
                  <ActionForm
                    ctx={ctx}
                    action="/actions/replay"
                    label={`Replay all ${group.count}`}
                    fields={{
                      task: group.task,
                      errorType: group.errorType,
                      errorMessage: group.errorMessage,
                      window: props.window,
                    }}
                  />
                  <ActionForm
                    ctx={ctx}
                    action="/actions/replay"
                    label="Replay sample"
                    fields={{ id: group.sampleTaskId }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="note">
        A replay republishes the failed task's dead letter to its queue as a fresh attempt (the same as{" "}
        <code>worker-toolbox dlq replay --id</code>): a new run of the task, whose outcome replaces the
        failure (which stays in the task's states).
      </p>
      <Replays ctx={ctx} window={props.window} replays={props.replays} />
    </Layout>
  );
}

/** What became of the tasks replayed in the window, from here or with `worker-toolbox dlq replay`. */
function Replays(props: { ctx: PageContext; window: string; replays: RecentReplays }) {
  const { ctx, replays } = props;
  const total = replays.succeeded + replays.failedAgain + replays.running;
  return (
    <section class="replays">
      <h2>Replays</h2>
      {total === 0 ? (
        <Empty>No task was replayed in the last {props.window}.</Empty>
      ) : (
        <p
          class="replay-outcomes"
          data-succeeded={String(replays.succeeded)}
          data-failed-again={String(replays.failedAgain)}
          data-running={String(replays.running)}
        >
          Of {count(total)} task(s) replayed in the last {props.window}: {count(replays.succeeded)} succeeded,{" "}
          {count(replays.failedAgain)} failed again, {count(replays.running)} still running.
        </p>
      )}
      {replays.unfinished.length > 0 ? (
        <table class="replays">
          <thead>
            <tr>
              <th>task</th>
              <th>id</th>
              <th>state</th>
              <th>run</th>
              <th>replayed (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {replays.unfinished.map((replay) => (
              <tr>
                <td>{replay.name ?? "?"}</td>
                <td>
                  <a href={`${ctx.base}/tasks/${encodeURIComponent(replay.taskId)}`} class="mono">
                    {replay.taskId.slice(0, 8)}
                  </a>
                </td>
                <td>
                  <StatusBadge status={replay.status ?? "PENDING"} />
                </td>
                <td>replay {replay.generation}</td>
                <td class="nowrap">{time(replay.replayedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
