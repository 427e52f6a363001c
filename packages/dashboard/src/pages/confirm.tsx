import { Layout, type PageContext } from "./layout.js";

/**
 * Every action stops here first: what will happen, to what, and a button that posts the same fields again
 * with `confirm=1`. Works without JavaScript; nothing is done by a single click or a stray request.
 */
export function ConfirmPage(props: {
  ctx: PageContext;
  action: string;
  question: string;
  details: string[];
  fields: Record<string, string[]>;
  cancel: string;
  danger?: boolean;
}) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title="Confirm" current="" topics={[]}>
      <h1>Confirm</h1>
      <form method="post" action={`${ctx.base}${props.action}`} class="confirm" id="confirm-form">
        <p class="question">{props.question}</p>
        {props.details.length > 0 ? (
          <ul>
            {props.details.slice(0, 50).map((detail) => (
              <li class="mono">{detail}</li>
            ))}
            {props.details.length > 50 ? <li>{`… and ${props.details.length - 50} more`}</li> : null}
          </ul>
        ) : null}
        <input type="hidden" name="_csrf" value={ctx.csrf} />
        <input type="hidden" name="confirm" value="1" />
        {Object.entries(props.fields).flatMap(([name, values]) =>
          values.map((value) => <input type="hidden" name={name} value={value} />),
        )}
        <button type="submit" class={props.danger ? "danger" : undefined} id="confirm">
          Confirm
        </button>{" "}
        <a href={`${ctx.base}${props.cancel}`}>Cancel</a>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { ctx: PageContext; status: number; message: string }) {
  return (
    <Layout ctx={props.ctx} title={String(props.status)} current="" topics={[]}>
      <h1>{String(props.status)}</h1>
      <p class="warning">{props.message}</p>
    </Layout>
  );
}
