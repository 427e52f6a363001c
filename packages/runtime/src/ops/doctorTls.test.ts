import { parseConfig } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { checkTls } from "./doctorTls.js";

const remote = {
  mode: "production" as const,
  environment: { prefix: "prod" },
  broker: { url: "amqps://w:p@rabbit-1:5671/,amqps://w:p@rabbit-2:5671/" },
  database: { url: "postgres://w:p@db.internal/tasks?sslmode=verify-full" },
};

describe("doctor's tls check", () => {
  it("passes encrypted connections off the machine and says how", () => {
    expect(checkTls(parseConfig(remote), { database: true })).toEqual({
      id: "tls",
      status: "ok",
      detail: "broker amqps:// (2 nodes); database TLS (sslmode=verify-full)",
    });
    // A producer's doctor (--no-database) does not look at the database.
    expect(checkTls(parseConfig(remote), { database: false }).detail).toBe("broker amqps:// (2 nodes)");
  });

  it("warns when an encrypted connection accepts any certificate", () => {
    const unverified = parseConfig({
      ...remote,
      broker: { ...remote.broker, tls: { rejectUnauthorized: false } },
      database: { url: "postgres://w:p@db.internal/tasks?sslmode=no-verify" },
    });
    expect(checkTls(unverified, { database: true })).toMatchObject({
      status: "warn",
      detail:
        "encrypted, but the server's certificate is not verified: broker (broker.tls.rejectUnauthorized " +
        "false); database (sslmode=no-verify)",
    });
  });

  it("warns about plaintext off the machine outside production, and says production would refuse it", () => {
    const staging = parseConfig({ ...remote, mode: "development", database: { url: "postgres://w@db/x" } });
    expect(checkTls(staging, { database: true })).toMatchObject({
      status: "warn",
      detail: "not encrypted: database (no sslmode) at db (production mode would refuse it)",
    });
  });

  it("warns about a management API allowed over http:// off the machine (it gets the broker's credentials)", () => {
    const allowed = parseConfig({
      ...remote,
      broker: { ...remote.broker, managementUrl: "http://w:p@rabbit-1:15672/", allowPlaintext: true },
    });
    expect(checkTls(allowed, { database: true })).toMatchObject({
      status: "warn",
      detail: "not encrypted: management API http:// to rabbit-1 (allowed by WT_BROKER_ALLOW_PLAINTEXT=true)",
    });
  });
});
