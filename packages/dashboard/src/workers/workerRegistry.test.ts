import type { WorkerEvent } from "@worker-toolbox/runtime/protocol";
import { describe, expect, it } from "vitest";
import { versionSkew, WorkerRegistry } from "./workerRegistry.js";

const beat = (hostname: string, extra: Partial<WorkerEvent> = {}): WorkerEvent => ({
  type: "worker-heartbeat",
  hostname,
  timestamp: 1_000,
  freq: 2,
  active: 0,
  processed: 0,
  pid: 1,
  loadavg: undefined,
  swIdent: "worker-toolbox",
  swVer: "0.1.0",
  swSys: "Linux",
  service: "export",
  toolboxVersion: "0.1.0",
  tasks: ["export.render.v1"],
  concurrency: 4,
  ...extra,
});

describe("WorkerRegistry", () => {
  it("marks a worker offline after two missed heartbeats, measured on the receiver's clock", () => {
    const registry = new WorkerRegistry();
    let changes = 0;
    registry.on("change", () => changes++);
    registry.apply(beat("a@h"), 50_000);
    expect(registry.list(53_999)[0]).toMatchObject({ online: true });
    expect(registry.list(54_001)[0]).toMatchObject({ online: false, offlineReason: "missed-heartbeats" });
    registry.apply(beat("a@h", { processed: 3 }), 55_000);
    expect(registry.list(55_000)[0]).toMatchObject({ online: true, processed: 3 });
    expect(changes).toBe(3);
    registry.apply(beat("a@h", { processed: 3 }), 56_000); // nothing a page shows moved
    registry.apply(beat("a@h", { processed: 3, concurrency: 5 }), 57_000); // pool_grow
    expect(changes).toBe(4);
  });

  it("takes a worker-offline event at its word and keeps Python workers' fields", () => {
    const registry = new WorkerRegistry();
    registry.apply(
      beat("celery@h", { swIdent: "py-celery", swVer: "5.2.6", service: undefined, tasks: undefined }),
      0,
    );
    registry.apply(beat("celery@h", { type: "worker-offline" }), 1_000);
    expect(registry.list(1_000)[0]).toMatchObject({
      online: false,
      offlineReason: "worker-offline",
      software: "worker-toolbox 0.1.0",
    });
  });

  it("flags mixed toolbox versions and tasks no live worker implements", () => {
    const registry = new WorkerRegistry();
    registry.apply(beat("a@h"), 0);
    registry.apply(
      beat("b@h", { toolboxVersion: "0.2.0", tasks: ["export.render.v1", "export.render.v2"] }),
      0,
    );
    registry.apply(beat("celery@h", { service: "billing", tasks: undefined }), 0);
    const skew = versionSkew(registry.list(0), ["export.render.v2", "export.render.v3", "billing.charge"]);
    expect(skew.mixedVersions).toEqual([{ service: "export", versions: ["0.1.0", "0.2.0"] }]);
    // billing's only worker does not say what it implements: no verdict.
    expect(skew.unimplemented).toEqual([{ service: "export", task: "export.render.v3" }]);
  });
});
