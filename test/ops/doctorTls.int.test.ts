import { describe, expect, it } from "vitest";
import { cli } from "./support.js";
import { opsWorld } from "./world.js";

/**
 * TLS in production (docs/operations.md): a plaintext broker or database connection that leaves the machine
 * is refused when the config loads in production mode (doctor's `config` row, exit 2, naming the variable,
 * the fix and the opt-out); one an opt-out allows, or one outside production, is doctor's `tls` warning on
 * every run. Connections on loopback (the demo, these throwaway servers) pass in every mode. Hosts under
 * `.invalid` never resolve: the rows about them are about the config, not about reaching them.
 */
const world = opsWorld("ops-doctor-tls", { database: "migrated" });

interface Report {
  checks: { id: string; status: string; detail: string; hint?: string }[];
}

async function doctor(env: Record<string, string | undefined>) {
  const result = await cli(["doctor", "--json", "--service", "export"], { ...world.env, ...env });
  const report = JSON.parse(result.stdout) as Report;
  const check = (id: string) => report.checks.find((c) => c.id === id);
  return { code: result.code, output: result.stdout + result.stderr, check };
}

const REMOTE_BROKER = "amqp://worker:Secret1@rabbit.invalid:5672/";
const REMOTE_DATABASE = "postgres://worker:Secret1@db.invalid:5432/tasks";

describe("worker-toolbox doctor: TLS in production", () => {
  it("passes production mode on this machine: plaintext on loopback never crosses a network", async () => {
    const { check } = await doctor({ WT_MODE: "production" });
    expect(check("config")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("mode production"),
    });
    expect(check("tls")).toEqual({
      id: "tls",
      status: "ok",
      detail: "broker on this machine; database on this machine",
    });
    expect(check("broker")?.status).toBe("ok");
  }, 60_000);

  it("refuses a plaintext broker off the machine in production, naming the variable, the fix and the opt-out", async () => {
    const { code, check, output } = await doctor({ WT_MODE: "production", AMQP_URL: REMOTE_BROKER });
    expect(code).toBe(2);
    const config = check("config");
    expect(config?.status).toBe("fail");
    expect(config?.detail).toContain("broker.url (AMQP_URL): not encrypted: amqp:// to rabbit.invalid");
    expect(config?.detail).toContain("use amqps://");
    expect(config?.detail).toContain("WT_BROKER_ALLOW_PLAINTEXT=true");
    expect(output).not.toContain("Secret1");
  }, 60_000);

  it("warns on every run about a plaintext connection an opt-out allows, or one outside production", async () => {
    const allowed = await doctor({
      WT_MODE: "production",
      AMQP_URL: REMOTE_BROKER,
      DATABASE_URL: REMOTE_DATABASE,
      WT_BROKER_ALLOW_PLAINTEXT: "true",
      WT_DATABASE_ALLOW_PLAINTEXT: "true",
    });
    expect(allowed.check("config")?.status).toBe("ok");
    expect(allowed.check("tls")).toMatchObject({
      status: "warn",
      detail:
        "not encrypted: broker amqp:// to rabbit.invalid (allowed by WT_BROKER_ALLOW_PLAINTEXT=true); " +
        "database (no sslmode) at db.invalid (allowed by WT_DATABASE_ALLOW_PLAINTEXT=true)",
      hint: expect.stringContaining("sslmode=verify-full"),
    });
    // The hosts do not resolve: the broker row fails, so doctor exits 1 (a warning alone would not).
    expect(allowed.check("broker")?.status).toBe("fail");
    expect(allowed.code).toBe(1);
    expect(allowed.output).not.toContain("Secret1");

    const staging = await doctor({ WT_MODE: "development", AMQP_URL: REMOTE_BROKER });
    expect(staging.check("tls")).toMatchObject({
      status: "warn",
      detail: "not encrypted: broker amqp:// to rabbit.invalid (production mode would refuse it)",
    });
  }, 90_000);
});
