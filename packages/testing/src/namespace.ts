import { randomBytes } from "node:crypto";
import { maskUrl, splitUrlList, ToolboxError } from "@worker-toolbox/config";

/**
 * A short random environment prefix (`t-3f9a2c`, or `t-<label>-3f9a2c`) that isolates one test
 * file's exchanges and queues on a shared broker. Valid as `environment.prefix` (≤ 32 chars).
 */
export function createTestNamespace(label?: string): string {
  const suffix = randomBytes(3).toString("hex");
  const slug = (label ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 20)
    .replace(/-+$/, "");
  return slug ? `t-${slug}-${suffix}` : `t-${suffix}`;
}

export interface DeletedNamespace {
  queues: string[];
  exchanges: string[];
}

/** True for `prefix` itself and `prefix.x`, `prefix-x`…, but not for `prefixx`. */
function inNamespace(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && !/[a-z0-9]/i.test(name.charAt(prefix.length));
}

/**
 * Delete every queue and exchange whose name starts with `prefix`, through the management HTTP
 * API. Pass the management URL (`http://user:pass@host:15672/`); given an AMQP URL, it uses
 * RABBITMQ_MANAGEMENT_URL from the environment.
 */
export async function deleteNamespace(
  url: string,
  prefix: string,
  options: { vhost?: string } = {},
): Promise<DeletedNamespace> {
  if (!prefix) throw new ToolboxError("LOCAL_SERVER_FAILED", "deleteNamespace needs a non-empty prefix");
  const managementUrl = /^amqps?:/.test(url) ? process.env.RABBITMQ_MANAGEMENT_URL : url;
  if (!managementUrl) {
    throw new ToolboxError("LOCAL_SERVER_FAILED", `deleteNamespace got an AMQP URL (${maskUrl(url)})`, {
      hint: "pass the management URL, or set RABBITMQ_MANAGEMENT_URL",
    });
  }
  // A cluster's list of management APIs: any node's manages the whole cluster.
  const parsed = new URL(splitUrlList(managementUrl)[0] ?? managementUrl);
  // fetch refuses URLs with credentials: move them into a header.
  const auth = Buffer.from(
    `${decodeURIComponent(parsed.username || "guest")}:${decodeURIComponent(parsed.password || "guest")}`,
  ).toString("base64");
  parsed.username = "";
  parsed.password = "";
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  const vhost = encodeURIComponent(options.vhost ?? "/");
  const call = async (method: "GET" | "DELETE", path: string): Promise<unknown> => {
    const response = await fetch(new URL(path, parsed), {
      method,
      headers: { authorization: `Basic ${auth}` },
    });
    if (method === "DELETE" && response.status === 404) return undefined;
    if (!response.ok) {
      throw new ToolboxError(
        "LOCAL_SERVER_FAILED",
        `management API ${method} ${path} on ${maskUrl(managementUrl)} answered ${response.status}: ${await response.text()}`,
      );
    }
    return method === "GET" ? response.json() : undefined;
  };
  const list = async (kind: "queues" | "exchanges") => {
    const items = (await call("GET", `api/${kind}/${vhost}?columns=name`)) as { name: string }[];
    return items.map((item) => item.name).filter((name) => inNamespace(name, prefix));
  };
  // Queues first, so no binding briefly points at a half-deleted exchange.
  const queues = await list("queues");
  for (const name of queues) await call("DELETE", `api/queues/${vhost}/${encodeURIComponent(name)}`);
  const exchanges = await list("exchanges");
  for (const name of exchanges) await call("DELETE", `api/exchanges/${vhost}/${encodeURIComponent(name)}`);
  return { queues, exchanges };
}
