import type { Child } from "hono/jsx";
import type { Principal } from "../auth.js";
import type { Topic } from "../live/changeFeed.js";

/** What every page needs to know about the request it answers. */
export interface PageContext {
  /** Where the dashboard is mounted ("" at the root, "/ops" under a prefix). */
  base: string;
  principal: Principal;
  csrf: string;
  /** A message from the action that redirected here. */
  flash: string | undefined;
}

const NAV: [href: string, label: string][] = [
  ["/", "Overview"],
  ["/tasks", "Tasks"],
  ["/failures", "Failures"],
  ["/dead-letters", "Dead letters"],
  ["/workers", "Workers"],
];

/**
 * The page frame. `<main id="live">` is what the client script (assets/app.js) re-fetches and swaps when the
 * server-sent events name one of `topics`. Every value is rendered by JSX, which escapes text and attributes:
 * nothing from a task ever becomes markup.
 */
export function Layout(props: {
  ctx: PageContext;
  title: string;
  current: string;
  topics: Topic[];
  children: Child;
}) {
  const { ctx } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={ctx.csrf} />
        <title>{`${props.title} · worker-toolbox`}</title>
        <link rel="stylesheet" href={`${ctx.base}/assets/app.css`} />
        <script type="module" src={`${ctx.base}/assets/app.js`} />
      </head>
      <body data-base={ctx.base}>
        <header>
          <strong class="brand">worker-toolbox</strong>
          <nav>
            {NAV.map(([href, label]) => (
              <a href={`${ctx.base}${href}`} class={props.current === href ? "current" : undefined}>
                {label}
              </a>
            ))}
          </nav>
          <span class="who">
            <span id="live-status" class="live-status" title="live updates">
              ●
            </span>{" "}
            {ctx.principal.user} ({ctx.principal.role})
          </span>
        </header>
        {ctx.flash ? (
          <p class="flash" role="status">
            {ctx.flash}
          </p>
        ) : null}
        <main id="live" data-topics={props.topics.join(" ")}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`status status-${props.status.toLowerCase()}`}>{props.status}</span>;
}

/** A POST form for an action: the CSRF token travels with it; the server asks for confirmation first. */
export function ActionForm(props: {
  ctx: PageContext;
  action: string;
  label: string;
  fields: Record<string, string | string[]>;
  danger?: boolean;
}) {
  if (props.ctx.principal.role !== "operator") return null;
  return (
    <form method="post" action={`${props.ctx.base}${props.action}`} class="action">
      <input type="hidden" name="_csrf" value={props.ctx.csrf} />
      {Object.entries(props.fields).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((item) => (
          <input type="hidden" name={name} value={item} />
        )),
      )}
      <button type="submit" class={props.danger ? "danger" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

export function Empty(props: { children: Child }) {
  return <p class="empty">{props.children}</p>;
}
