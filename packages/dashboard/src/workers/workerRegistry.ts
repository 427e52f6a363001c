import { EventEmitter } from "node:events";
import { heartbeatExpiresAt, type WorkerEvent } from "@worker-toolbox/runtime/protocol";

/** One worker as the Workers page shows it: its last heartbeat plus what the registry worked out. */
export interface WorkerInfo {
  hostname: string;
  pid: number | undefined;
  service: string | undefined;
  toolboxVersion: string | undefined;
  /** `py-celery 5.2.6`, `worker-toolbox 0.1.0`. */
  software: string | undefined;
  tasks: string[] | undefined;
  concurrency: number | undefined;
  active: number;
  processed: number;
  loadavg: number[] | undefined;
  firstSeen: Date;
  lastSeen: Date;
  online: boolean;
  /** Why it counts as offline: it said goodbye, or it missed two heartbeats (killed, hung, cut off). */
  offlineReason: "worker-offline" | "missed-heartbeats" | undefined;
}

interface Entry {
  info: WorkerInfo;
  /** Receive time + two heartbeat intervals: measured on this clock, so the workers' clock skew is moot. */
  expiresAt: number;
}

/** Offline workers stay listed this long, then are forgotten. */
const FORGET_AFTER_MS = 24 * 3_600_000;

/**
 * The live list of workers, built from Celery's worker events (online, heartbeat, offline) as Flower builds
 * it, with Celery's expiry rule: a worker that misses two heartbeats is offline, never shown as online
 * forever. Emits `change` whenever the list changes in a way a page shows (a worker appears, goes offline,
 * comes back, its counters move, or its concurrency changes: remote control's pool_grow/pool_shrink).
 */
export class WorkerRegistry extends EventEmitter<{ change: [] }> {
  private readonly workers = new Map<string, Entry>();

  apply(event: WorkerEvent, receivedAt = Date.now()): void {
    const held = this.workers.get(event.hostname);
    const goodbye = event.type === "worker-offline";
    const info: WorkerInfo = {
      hostname: event.hostname,
      pid: event.pid,
      service: event.service ?? held?.info.service,
      toolboxVersion: event.toolboxVersion ?? held?.info.toolboxVersion,
      software: event.swIdent ? `${event.swIdent} ${event.swVer ?? ""}`.trim() : held?.info.software,
      tasks: event.tasks ?? held?.info.tasks,
      concurrency: event.concurrency ?? held?.info.concurrency,
      active: event.active,
      processed: event.processed,
      loadavg: event.loadavg,
      firstSeen: held?.info.online ? held.info.firstSeen : new Date(receivedAt),
      lastSeen: new Date(receivedAt),
      online: !goodbye,
      offlineReason: goodbye ? "worker-offline" : undefined,
    };
    const expiresAt = receivedAt + (heartbeatExpiresAt(event) - event.timestamp * 1_000);
    this.workers.set(event.hostname, { info, expiresAt });
    const changed =
      !held ||
      held.info.online !== info.online ||
      held.info.processed !== info.processed ||
      held.info.active !== info.active ||
      held.info.concurrency !== info.concurrency;
    if (changed) this.emit("change");
  }

  /** Mark workers whose heartbeats stopped as offline; forget long-gone ones. Returns true on a change. */
  sweep(now = Date.now()): boolean {
    let changed = false;
    for (const [hostname, entry] of this.workers) {
      if (entry.info.online && now > entry.expiresAt) {
        entry.info = { ...entry.info, online: false, offlineReason: "missed-heartbeats" };
        changed = true;
      } else if (!entry.info.online && now - entry.info.lastSeen.getTime() > FORGET_AFTER_MS) {
        this.workers.delete(hostname);
        changed = true;
      }
    }
    if (changed) this.emit("change");
    return changed;
  }

  /** One worker as last heard, or undefined. */
  get(hostname: string): WorkerInfo | undefined {
    return this.workers.get(hostname)?.info;
  }

  /** Online workers first, then by service and hostname. */
  list(now = Date.now()): WorkerInfo[] {
    this.sweep(now);
    return [...this.workers.values()]
      .map((entry) => entry.info)
      .sort(
        (a, b) =>
          Number(b.online) - Number(a.online) ||
          (a.service ?? "~").localeCompare(b.service ?? "~") ||
          a.hostname.localeCompare(b.hostname),
      );
  }
}

/** What the Workers page flags: more than one toolbox version in a service, tasks no live worker runs. */
export interface VersionSkew {
  /** Services whose live workers run different toolbox versions. */
  mixedVersions: { service: string; versions: string[] }[];
  /** Task names sent recently that no live toolbox worker of their service implements. */
  unimplemented: { service: string; task: string }[];
}

export function versionSkew(workers: readonly WorkerInfo[], recentTasks: readonly string[]): VersionSkew {
  const live = workers.filter((worker) => worker.online && worker.service);
  const byService = new Map<string, WorkerInfo[]>();
  for (const worker of live)
    byService.set(worker.service!, [...(byService.get(worker.service!) ?? []), worker]);
  const mixedVersions: VersionSkew["mixedVersions"] = [];
  const unimplemented: VersionSkew["unimplemented"] = [];
  for (const [service, members] of byService) {
    const versions = [
      ...new Set(members.map((worker) => worker.toolboxVersion).filter((v) => v !== undefined)),
    ];
    if (versions.length > 1) mixedVersions.push({ service, versions: versions.sort() });
  }
  for (const task of recentTasks) {
    const service = task.split(".")[0]!;
    const members = byService.get(service);
    // Only services whose live workers say what they implement can be judged.
    if (!members || members.every((worker) => worker.tasks === undefined)) continue;
    if (!members.some((worker) => worker.tasks?.includes(task))) unimplemented.push({ service, task });
  }
  return { mixedVersions, unimplemented };
}
