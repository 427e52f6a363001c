// @ts-check
/**
 * The dashboard's only script (served as is: no bundle, no build step). Live updates: the server sends
 * `change` events naming topics (tasks, failures, workers, broker) over /events; when one of them is a topic
 * of this page (`<main data-topics>`), the page is fetched again and the children of its <main> swapped in —
 * all but the forms the user fills in: a form marked `data-keep` (with an id; the task filters) stays the
 * very element it was, with the user's input, focus and pointer on it, while the data around it is
 * replaced. While a pointer is pressed inside <main>, or the user is in a field that would be replaced, or a
 * checkbox is ticked (a selection of dead letters), the refresh waits until they are done. The markup comes from the server, where JSX escaped
 * every value, and is parsed by DOMParser, which runs no script.
 * Without JavaScript every page still works; it just does not update by itself.
 */

const main = document.getElementById("live");
const indicator = document.getElementById("live-status");
const base = document.body.dataset.base ?? "";
const topics = new Set((main?.dataset.topics ?? "").split(" ").filter(Boolean));

/** At most one refresh a second: a busy system changes something every few milliseconds. */
const MIN_INTERVAL_MS = 1_000;
let busy = false;
let again = false;
let last = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let scheduled;

/** True while a pointer (mouse button, finger) is pressed inside <main>: a swap would lose the click. */
let pressed = false;

/**
 * The id attribute: `form.id` is the form's field named "id" when it has one (the task filters do).
 * @param {Node} node
 */
const idOf = (node) => (node instanceof Element ? (node.getAttribute("id") ?? "") : "");

/** @param {Element} element */
function isKept(element) {
  return element instanceof HTMLFormElement && idOf(element) !== "" && element.hasAttribute("data-keep");
}

/** True while the user is working inside the live region on something a refresh would replace. */
function userIsBusy() {
  if (!main) return false;
  if (pressed) return true;
  const active = document.activeElement;
  if (
    active &&
    main.contains(active) &&
    /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName) &&
    !keptAncestor(active)
  )
    return true;
  return main.querySelector("input[type=checkbox]:checked") !== null;
}

/** @param {Element} element */
function keptAncestor(element) {
  const form = element.closest("form");
  return form !== null && isKept(form);
}

/**
 * Replace the children of <main> with those of `next`, except the kept forms (direct children of <main>,
 * matched by id): they are never detached, so nothing the user does on them is lost.
 * @param {HTMLElement} live
 * @param {HTMLElement} next
 */
function swap(live, next) {
  /** @type {Map<string, Element>} */
  const kept = new Map();
  for (const child of live.children) if (isKept(child)) kept.set(idOf(child), child);
  for (const child of [...live.childNodes]) if (kept.get(idOf(child)) !== child) child.remove();
  /** @type {ChildNode | null} */
  let cursor = null;
  for (const node of [...next.childNodes]) {
    const id = idOf(node);
    const keep = id ? kept.get(id) : undefined;
    if (keep) {
      kept.delete(id);
      cursor = keep;
      continue;
    }
    const fresh = document.importNode(node, true);
    if (cursor) cursor.after(fresh);
    else live.prepend(fresh);
    cursor = fresh;
  }
  // A kept form the new page no longer has goes too.
  for (const gone of kept.values()) gone.remove();
}

async function refresh() {
  if (!main) return;
  if (busy || userIsBusy()) {
    again = true;
    return;
  }
  const wait = last + MIN_INTERVAL_MS - Date.now();
  if (wait > 0) {
    if (scheduled === undefined) {
      scheduled = setTimeout(() => {
        scheduled = undefined;
        void refresh();
      }, wait);
    }
    return;
  }
  busy = true;
  last = Date.now();
  try {
    const response = await fetch(location.href, {
      headers: { accept: "text/html" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const next = page.getElementById("live");
    // The user started on something while the page was fetched: wait for them.
    if (next && userIsBusy()) again = true;
    else if (next) {
      swap(main, next);
      main.dataset.refreshedAt = String(Date.now());
    }
  } catch {
    // The next change tries again.
  } finally {
    busy = false;
    if (again) {
      again = false;
      setTimeout(() => void refresh(), 200);
    }
  }
}

/** A refresh that waited for the user runs once they are done. */
function resume() {
  if (again) setTimeout(() => void refresh(), 0);
}

document.addEventListener("focusout", resume);
main?.addEventListener("pointerdown", () => {
  pressed = true;
});
/** After the click the press produced: the swap must not land between pointerup and click. */
function released() {
  if (!pressed) return;
  setTimeout(() => {
    pressed = false;
    resume();
  }, 0);
}
document.addEventListener("pointerup", released);
document.addEventListener("pointercancel", released);
// A button released outside the window sends no pointerup here.
window.addEventListener("blur", released);

function connect() {
  if (topics.size === 0) return;
  const source = new EventSource(`${base}/events`);
  source.addEventListener("ready", () => {
    indicator?.classList.add("connected");
    document.body.dataset.live = "connected";
  });
  source.addEventListener("change", (event) => {
    /** @type {string[]} */
    const changed = JSON.parse(/** @type {MessageEvent} */ (event).data);
    if (changed.some((topic) => topics.has(topic))) void refresh();
  });
  source.addEventListener("error", () => {
    indicator?.classList.remove("connected");
    document.body.dataset.live = "disconnected";
    // EventSource reconnects by itself; a page that was away may have missed changes.
    again = true;
  });
}

connect();
