// @ts-check
/**
 * The dashboard's only script (served as is: no bundle, no build step). Live updates: the server sends
 * `change` events naming topics (tasks, failures, workers, broker) over /events; when one of them is a topic
 * of this page (`<main data-topics>`), the page is fetched again and its <main> swapped in. The markup comes
 * from the server, where JSX escaped every value, and is parsed by DOMParser, which runs no script.
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

/** True while the user is working inside the live region: a refresh would throw their input away. */
function userIsBusy() {
  if (!main) return false;
  const active = document.activeElement;
  if (active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
  return main.querySelector("input[type=checkbox]:checked") !== null;
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
    if (next) {
      main.innerHTML = next.innerHTML;
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

document.addEventListener("focusout", () => {
  if (again) setTimeout(() => void refresh(), 0);
});

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
