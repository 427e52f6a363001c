import { maskUrl, splitUrlList, ToolboxError } from "@worker-toolbox/config";

/** One node's management API: where to send requests, and the Basic auth header for the URL's user. */
export interface ApiNode {
  base: string;
  auth: string;
  user: string;
  /** The URL with the password masked, for messages. */
  displayUrl: string;
}

/**
 * Requests to the RabbitMQ management HTTP API of one or more nodes (management/client.ts): credentials
 * travel in a Basic auth header (fetch refuses URLs with credentials), each request has a deadline, a node
 * that cannot be reached hands the request to the next (the client stays with the one that answered), and
 * every error is a ToolboxError that masks the credentials.
 */
export class ManagementHttp {
  private readonly nodes: ApiNode[];
  private readonly timeoutMs: number;
  private current = 0;

  constructor(options: { url: string | readonly string[]; timeoutMs?: number }) {
    const urls = typeof options.url === "string" ? splitUrlList(options.url) : [...options.url];
    this.nodes = urls.map(apiNode);
    if (this.nodes.length === 0) throw new TypeError("createManagementClient needs at least one URL");
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The node that answered last. */
  get node(): ApiNode {
    return this.nodes[this.current]!;
  }

  /** One request, to the node that last answered first, then to the others; ToolboxErrors that mask credentials. */
  async call(method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response | undefined;
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.nodes.length && !response; attempt++) {
      const index = (this.current + attempt) % this.nodes.length;
      const { base, auth, displayUrl } = this.nodes[index]!;
      try {
        response = await fetch(new URL(path, base), {
          method,
          headers: {
            authorization: `Basic ${auth}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        this.current = index;
      } catch (cause) {
        const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).name;
        failures.push(`${displayUrl} (${reason})`);
        if (attempt === this.nodes.length - 1) {
          throw new ToolboxError(
            "BROKER_UNAVAILABLE",
            `cannot reach the RabbitMQ management API at ${failures.join(", ")}`,
            {
              cause,
              hint: "enable the rabbitmq_management plugin, or set RABBITMQ_MANAGEMENT_URL to where the API lives",
            },
          );
        }
      }
    }
    const answered = response!;
    if (answered.status === 401 || answered.status === 403) {
      throw new ToolboxError(
        "BROKER_AUTH_FAILED",
        `the RabbitMQ management API at ${this.node.displayUrl} refused user "${this.node.user}" (${answered.status})`,
        { hint: "the user needs the `monitoring` (or `management`) tag; check the credentials in the URL" },
      );
    }
    return answered;
  }

  /** GET `path` as JSON; undefined on 404 when `allow404`. */
  async json<T>(path: string, allow404 = false): Promise<T | undefined> {
    const response = await this.call("GET", path);
    if (allow404 && response.status === 404) return undefined;
    if (!response.ok) throw this.error("GET", path, response.status, await response.text());
    return (await response.json()) as T;
  }

  error(method: string, path: string, status: number, text: string): ToolboxError {
    return new ToolboxError(
      "BROKER_UNAVAILABLE",
      `management API ${method} /${path} on ${this.node.displayUrl} answered ${status}: ${maskUrl(text.slice(0, 300))}`,
    );
  }
}

function apiNode(url: string): ApiNode {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username || "guest");
  const auth = Buffer.from(`${user}:${decodeURIComponent(parsed.password || "guest")}`).toString("base64");
  parsed.username = "";
  parsed.password = "";
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return { base: parsed.toString(), auth, user, displayUrl: maskUrl(url) };
}
