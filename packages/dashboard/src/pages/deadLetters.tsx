import type { DeadLetterInfo } from "@worker-toolbox/runtime/ops";
import type { DeadLetterSummary } from "../broker/brokerView.js";
import { age, count } from "./format.js";
import { ActionForm, Empty, Layout, type PageContext } from "./layout.js";

export function DeadLettersPage(props: { ctx: PageContext; summaries: DeadLetterSummary[]; error?: string }) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title="Dead letters" current="/dead-letters" topics={["broker"]}>
      <h1>Dead letters</h1>
      {props.error ? <p class="warning">{props.error}</p> : null}
      {props.summaries.length === 0 ? <Empty>No service found on the broker.</Empty> : null}
      {props.summaries.map((summary) => (
        <section class="dlq">
          <h2>
            <a href={`${ctx.base}/dead-letters/${encodeURIComponent(summary.service)}`}>{summary.service}</a>{" "}
            <span class="note">
              {count(summary.total)} in {summary.queue}
            </span>
          </h2>
          {summary.total === 0 ? (
            <Empty>Empty.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>reason</th>
                  <th class="num">count</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {summary.byReason.map((entry) => (
                  <tr>
                    <td>{entry.reason}</td>
                    <td class="num">{count(entry.count)}</td>
                    <td class="actions">
                      <ActionForm
                        ctx={ctx}
                        action="/actions/dlq/replay"
                        label={`Replay all ${entry.reason}`}
                        fields={{ service: summary.service, reason: entry.reason }}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {summary.total > 0 ? (
            <div class="actions">
              <a href={`${ctx.base}/dead-letters/${encodeURIComponent(summary.service)}`}>Inspect</a>
              <ActionForm
                ctx={ctx}
                action="/actions/dlq/replay"
                label="Replay all"
                fields={{ service: summary.service, all: "1" }}
              />
              <ActionForm
                ctx={ctx}
                action="/actions/dlq/purge"
                label="Purge"
                fields={{ service: summary.service }}
                danger
              />
            </div>
          ) : null}
        </section>
      ))}
    </Layout>
  );
}

export function DeadLetterQueuePage(props: {
  ctx: PageContext;
  service: string;
  total: number;
  letters: DeadLetterInfo[];
}) {
  const { ctx } = props;
  const operator = ctx.principal.role === "operator";
  return (
    <Layout ctx={ctx} title={`Dead letters of ${props.service}`} current="/dead-letters" topics={["broker"]}>
      <h1>Dead letters of {props.service}</h1>
      <p class="note">
        {`${props.letters.length} of ${props.total}, head first. Inspecting takes each message and returns it to the queue (its redelivered flag is set).`}
      </p>
      {props.letters.length === 0 ? (
        <Empty>Empty.</Empty>
      ) : (
        <form method="post" action={`${ctx.base}/actions/dlq/replay`} id="dlq-selection">
          <input type="hidden" name="_csrf" value={ctx.csrf} />
          <input type="hidden" name="service" value={props.service} />
          <table>
            <thead>
              <tr>
                {operator ? <th /> : null}
                <th>task</th>
                <th>id</th>
                <th>reason</th>
                <th class="num">attempts</th>
                <th>age</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {props.letters.map((letter) => (
                <tr>
                  {operator ? (
                    <td>
                      {letter.taskId ? (
                        <input
                          type="checkbox"
                          name="id"
                          value={letter.taskId}
                          aria-label={`select ${letter.taskId}`}
                        />
                      ) : null}
                    </td>
                  ) : null}
                  <td>{letter.task ?? "?"}</td>
                  <td>
                    {letter.taskId ? (
                      <a class="mono" href={`${ctx.base}/tasks/${encodeURIComponent(letter.taskId)}`}>
                        {letter.taskId.slice(0, 8)}
                      </a>
                    ) : (
                      "?"
                    )}
                  </td>
                  <td>{letter.origin === "broker" ? `${letter.reason} (broker)` : letter.reason}</td>
                  <td class="num">{letter.attempts === undefined ? "-" : String(letter.attempts)}</td>
                  <td>{age(letter.ageMs)}</td>
                  <td class="error">
                    {letter.errorClass
                      ? `${letter.errorClass}: ${letter.errorMessage ?? ""}`
                      : (letter.errorMessage ?? "")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {operator ? <button type="submit">Replay selected</button> : null}
        </form>
      )}
    </Layout>
  );
}
