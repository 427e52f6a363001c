import { entityNames, parseConfig, planTopology, WORKER_ID_PLACEHOLDER } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { decodeControlRequest, isForNode, pidboxNames } from "../control/pidbox.js";
import { decodeRevoke, encodeRevoke } from "./revocations.js";

describe("revocations over Celery's pidbox", () => {
  it("go through the plan's control exchange and worker queue, named as Celery's mailbox names them", () => {
    const config = parseConfig({ environment: { prefix: "cap" }, service: "export" });
    const plan = planTopology(config);
    const pidbox = pidboxNames(entityNames("cap").celeryControl);
    expect(plan.exchanges).toContainEqual(expect.objectContaining({ name: pidbox.exchange, type: "fanout" }));
    const [own] = plan.workerQueues;
    expect(own?.exchange).toBe(pidbox.exchange);
    expect(own?.name.replace(WORKER_ID_PLACEHOLDER, "export-1@h")).toBe(pidbox.queue("export-1@h"));
    // Celery's message TTL; exclusive where Celery's own node queues are not (RabbitMQ 4.3 refuses those).
    expect(own).toMatchObject({
      durable: false,
      exclusive: true,
      arguments: { "x-message-ttl": pidbox.queueArguments["x-message-ttl"] },
    });
  });

  it("round-trip as a request for every node; another command is not a revocation", () => {
    const { content, headers } = encodeRevoke({ taskIds: ["a", "b"], reason: "user" });
    const request = decodeControlRequest(content, headers)!;
    expect(isForNode(request, "export-1@h")).toBe(true);
    expect(decodeRevoke(request)).toEqual({ taskIds: ["a", "b"], reason: "user" });
    expect(decodeRevoke({ ...request, method: "ping" })).toBeUndefined();
  });

  it("read what Celery's app.control.revoke() sends: one id as a string, no reason", () => {
    const body = { method: "revoke", arguments: { task_id: "t1", terminate: false, signal: "SIGTERM" } };
    const request = decodeControlRequest(Buffer.from(JSON.stringify(body)), { clock: 3 })!;
    expect(decodeRevoke(request)).toEqual({ taskIds: ["t1"], reason: "revoked" });
  });
});
