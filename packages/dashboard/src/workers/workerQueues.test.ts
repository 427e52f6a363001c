import { describe, expect, it } from "vitest";
import { serviceOfQueue } from "./workerQueues.js";

describe("serviceOfQueue", () => {
  it("names the service of an environment's service queue", () => {
    expect(serviceOfQueue("prod", "prod.export")).toBe("export");
    expect(serviceOfQueue("prod", "prod.billing-v2")).toBe("billing-v2");
  });

  it("is undefined for the environment's other queues and for queues declared elsewhere", () => {
    for (const queue of [
      "prod.platform",
      "prod.export.dead",
      "prod.export.dead.watch",
      "prod.delay.5s",
      "staging.export",
      "legacy-exports",
      "celery",
      "prod.",
    ])
      expect(serviceOfQueue("prod", queue), queue).toBeUndefined();
  });
});
