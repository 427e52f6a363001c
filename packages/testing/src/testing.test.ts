import { isToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { createTestNamespace, maskUrl, startPostgres, startRabbitMQ } from "./index.js";

describe("createTestNamespace", () => {
  it("makes short, unique prefixes that are valid environment prefixes", () => {
    const prefixes = new Set(Array.from({ length: 50 }, () => createTestNamespace()));
    expect(prefixes.size).toBe(50);
    for (const prefix of prefixes) expect(prefix).toMatch(/^t-[0-9a-f]{6}$/);
    const labelled = createTestNamespace("Producer Confirms & Retries!!");
    expect(labelled).toMatch(/^t-producer-confirms-re-[0-9a-f]{6}$/);
    expect(labelled.length).toBeLessThanOrEqual(32);
  });
});

describe("missing server binaries", () => {
  it("names the package to install when rabbitmq-server is missing", async () => {
    const error = await startRabbitMQ({ binDir: "/nonexistent" }).catch((e: unknown) => e);
    expect(isToolboxError(error, "LOCAL_SERVER_FAILED")).toBe(true);
    expect((error as Error).message).toContain("apt-get install rabbitmq-server");
  });

  it("names the package to install when initdb is missing", async () => {
    const error = await startPostgres({ binDir: "/nonexistent" }).catch((e: unknown) => e);
    expect(isToolboxError(error, "LOCAL_SERVER_FAILED")).toBe(true);
    expect((error as Error).message).toContain("apt-get install postgresql");
  });
});

describe("maskUrl", () => {
  it("hides passwords", () => {
    expect(maskUrl("postgres://postgres:s3cret@127.0.0.1:5432/db")).toBe(
      "postgres://postgres:***@127.0.0.1:5432/db",
    );
    expect(maskUrl("amqp://guest@127.0.0.1:5672/")).toBe("amqp://guest@127.0.0.1:5672/");
  });
});
