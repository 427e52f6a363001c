import { maskUrl, ToolboxError } from "@worker-toolbox/config";

/**
 * Turn what amqplib throws while connecting into a `ToolboxError` that says which of the four things
 * went wrong, because the fix differs: unreachable (transient, retry), wrong credentials, unknown vhost
 * and TLS problems (all fatal, retrying cannot help).
 *
 * amqplib 0.10 reports them as: a socket error with `code` (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…);
 * "Handshake terminated by server: 403 (ACCESS-REFUSED)…" for a refused login; and
 * "Expected ConnectionOpenOk; got <ConnectionClose…>" when the vhost does not exist or is not permitted.
 */
export function classifyBrokerError(error: unknown, url: string): ToolboxError {
  if (error instanceof ToolboxError) return error;
  const where = maskUrl(url);
  const err = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === "string" ? err.code : "";
  const message = typeof err.message === "string" ? err.message : String(error);
  const vhost = vhostOf(url);

  if (/ACCESS[-_]REFUSED|\b403\b/.test(message)) {
    return new ToolboxError(
      "BROKER_AUTH_FAILED",
      `RabbitMQ at ${where} refused the login (ACCESS_REFUSED).`,
      {
        cause: error,
        hint: "check the user name and password in AMQP_URL (and that the user exists on this broker)",
      },
    );
  }
  if (/ConnectionOpenOk|NOT[-_]ALLOWED|\b530\b/.test(message)) {
    return new ToolboxError(
      "BROKER_VHOST_NOT_FOUND",
      `RabbitMQ at ${where} refused vhost "${vhost}": it does not exist or the user may not use it.`,
      {
        cause: error,
        hint: `create it (rabbitmqctl add_vhost ${vhost}) and grant permissions, or fix the vhost path of AMQP_URL`,
      },
    );
  }
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/.test(code)) {
    return new ToolboxError(
      "BROKER_TLS_FAILED",
      `TLS handshake with RabbitMQ at ${where} failed (${code}).`,
      {
        cause: error,
        hint: "check broker.tls.* (WT_BROKER_TLS_CA_FILE…), and that the port speaks TLS for amqps:// (usually 5671)",
      },
    );
  }
  const reason = SOCKET_REASONS[code] ?? (message ? maskUrl(message) : "unknown error");
  return new ToolboxError("BROKER_UNAVAILABLE", `cannot reach RabbitMQ at ${where} (${reason})`, {
    cause: error,
    hint: "check that the broker is running and that AMQP_URL names the right host and port",
  });
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** The vhost an AMQP URL names: `/` when the path is empty. */
export function vhostOf(url: string): string {
  try {
    const path = new URL(url).pathname;
    return path === "" || path === "/" ? "/" : decodeURIComponent(path.slice(1));
  } catch {
    return "/";
  }
}
