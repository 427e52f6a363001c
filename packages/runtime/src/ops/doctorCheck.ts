/**
 * What the doctor reports: one check per finding, and the report around them. A module of its own so the
 * check families (clusterChecks, upgradeChecks) and the doctor that runs them need not import each other.
 */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  /** Stable id, e.g. `broker`, `consumers:staging.export`. */
  id: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
  /** Every finding when the detail summarises several (topology differences). */
  items?: string[];
}

export interface DoctorReport {
  /** False when any check failed (warnings and skips do not fail). */
  ok: boolean;
  prefix: string;
  services: string[];
  checks: DoctorCheck[];
}

/** The first line of an error's message: one line per finding. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
