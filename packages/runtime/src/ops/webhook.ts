import type { Logger } from "pino";
import type { Alarm } from "./alarms.js";

/** The JSON body the monitor POSTs: what changed in this sample, and everything still active. */
export interface AlarmWebhookBody {
  source: "worker-toolbox";
  environment: string;
  at: string;
  raised: Alarm[];
  resolved: Alarm[];
  active: Alarm[];
}

/**
 * POST the body; failures are logged, never thrown, so a dead webhook cannot stop the monitor. Only the
 * URL's origin is logged: webhook paths often carry a token.
 */
export async function postAlarmWebhook(
  url: string,
  body: AlarmWebhookBody,
  logger: Logger,
  timeoutMs = 5_000,
): Promise<boolean> {
  const origin = safeOrigin(url);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      logger.warn(
        { webhook: origin, status: response.status },
        "alarm webhook answered with an error status",
      );
      return false;
    }
    return true;
  } catch (error) {
    logger.warn({ webhook: origin, err: (error as Error).message }, "alarm webhook could not be reached");
    return false;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
