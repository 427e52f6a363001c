import { ContractViolation, defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { decodeTaskMessage } from "../protocol/decodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { prepareSend } from "./prepareSend.js";

const exportProject = defineTask({
  name: "export.project.v2",
  args: z.tuple([z.string().uuid(), z.number().int().positive()]),
  kwargs: z.strictObject({ format: z.enum(["csv", "xlsx"]).default("csv") }),
  result: z.object({ url: z.string() }),
  timeLimitMs: { hard: 60_000, soft: 50_000 },
});
const target = { exchange: "staging.tasks", maxBytes: 1024 };
const projectId = "2f1c7e4e-8d9a-4c56-9a53-1d6d3f0f2f10";

describe("prepareSend", () => {
  it("builds a Celery v2 message routed by task name, with every option carried", () => {
    const parent = {
      id: "11111111-1111-4111-8111-111111111111",
      rootId: "22222222-2222-4222-8222-222222222222",
    };
    const eta = new Date(Date.now() + 60_000);
    const { receipt, request } = prepareSend(
      exportProject,
      [projectId, 3],
      { format: "xlsx" },
      {
        eta,
        expires: 120_000,
        priority: 5,
        tracking: { requestedBy: "user:42" },
        parent,
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
      target,
    );
    expect(request).toMatchObject({ exchange: "staging.tasks", routingKey: "export.project.v2" });
    expect(receipt).toMatchObject({ name: "export.project.v2", rootId: parent.rootId });
    const message = decodeTaskMessage(request.content, { ...request.properties });
    expect(message).toMatchObject({
      id: receipt.id,
      task: "export.project.v2",
      args: [projectId, 3],
      kwargs: { format: "xlsx" },
      parentId: parent.id,
      rootId: parent.rootId,
      priority: 5,
      timeLimit: { hard: 60, soft: 50 },
    });
    expect(message.eta?.getTime()).toBe(eta.getTime());
    expect(message.expires).toBeInstanceOf(Date);
    expect(request.properties.headers[H.tracking]).toEqual({ requestedBy: "user:42" });
    expect(request.properties.headers.traceparent).toMatch(/^00-/);
  });

  it("a task without a parent is its own root; ids are random UUIDs", () => {
    const a = prepareSend(exportProject, [projectId, 1], undefined, {}, target).receipt;
    const b = prepareSend(exportProject, [projectId, 1], undefined, {}, target).receipt;
    expect(a.rootId).toBe(a.id);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("lists every failing path of a bad call", () => {
    let error: unknown;
    try {
      prepareSend(exportProject, ["not-a-uuid", -1], { format: "pdf", extra: 1 }, {}, target);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContractViolation);
    expect((error as ContractViolation).code).toBe("TASK_ARGS_INVALID");
    expect((error as ContractViolation).issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["args[0]", "args[1]", "kwargs.format", "kwargs.extra"]),
    );
  });

  it("rejects non-serialisable values, oversize messages, bad ids and countdown with eta", () => {
    const anyArgs = defineTask({ name: "export.raw", args: z.tuple([z.unknown()]), result: z.null() });
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return "no error";
    };
    expect(codeOf(() => prepareSend(anyArgs, [() => 1], {}, {}, target))).toBe("MESSAGE_NOT_SERIALIZABLE");
    expect(codeOf(() => prepareSend(anyArgs, [10n], {}, {}, target))).toBe("MESSAGE_NOT_SERIALIZABLE");
    expect(codeOf(() => prepareSend(anyArgs, ["x".repeat(2_000)], {}, {}, target))).toBe("MESSAGE_TOO_LARGE");
    expect(codeOf(() => prepareSend(anyArgs, [1], {}, { id: "42" }, target))).toBe("MESSAGE_INVALID");
    expect(codeOf(() => prepareSend(anyArgs, [1], {}, { priority: 300 }, target))).toBe("MESSAGE_INVALID");
    expect(codeOf(() => prepareSend(anyArgs, [1], {}, { countdownMs: 5, eta: new Date() }, target))).toBe(
      "MESSAGE_INVALID",
    );
  });

  it("keeps an explicit id for idempotent resends", () => {
    const id = "33333333-3333-4333-8333-333333333333";
    expect(prepareSend(exportProject, [projectId, 1], {}, { id }, target).receipt).toMatchObject({
      id,
      rootId: id,
    });
  });
});
