import type { ReplayBatch } from "../queries/index.js";
import { time } from "./format.js";
import { Empty, Layout, type PageContext, StatusBadge } from "./layout.js";

const OUTCOME_TEXT = { succeeded: "succeeded", failedAgain: "failed again", running: "running" } as const;

/**
 * Where a replay from the dashboard lands: each replayed task and what became of its new run, updated live
 * as workers store outcomes (the dashboard's `dlq replay --wait`).
 */
export function ReplayBatchPage(props: { ctx: PageContext; batch: ReplayBatch; total: number }) {
  const { ctx, batch } = props;
  const finished = batch.running === 0;
  return (
    <Layout ctx={ctx} title="Replay" current="/failures" topics={["tasks"]}>
      <h1>Replay of {batch.tasks.length} task(s)</h1>
      <p id="replay-summary" data-finished={finished ? "yes" : "no"}>
        {finished ? `All ${batch.tasks.length} finished: ` : `${batch.running} running · `}
        {batch.succeeded} succeeded · {batch.failedAgain} failed again
      </p>
      {props.total > batch.tasks.length ? (
        <p class="note">
          Showing the first {batch.tasks.length} of {props.total}; the rest are under{" "}
          <a href={`${ctx.base}/failures`}>Failures, Replays</a>.
        </p>
      ) : null}
      {batch.tasks.length === 0 ? (
        <Empty>No replay to follow.</Empty>
      ) : (
        <table class="replays">
          <thead>
            <tr>
              <th>task</th>
              <th>id</th>
              <th>run</th>
              <th>state</th>
              <th>outcome</th>
              <th>finished (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {batch.tasks.map((task) => (
              <tr data-task-id={task.taskId} data-outcome={task.outcome}>
                <td>{task.name ?? "?"}</td>
                <td class="mono">
                  <a href={`${ctx.base}/tasks/${encodeURIComponent(task.taskId)}`}>{task.taskId}</a>
                </td>
                <td>{`replay ${task.generation}`}</td>
                <td>
                  <StatusBadge status={task.status} />
                </td>
                <td class="outcome">{OUTCOME_TEXT[task.outcome]}</td>
                <td class="nowrap">{time(task.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
