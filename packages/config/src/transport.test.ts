import { describe, expect, it } from "vitest";
import { configError } from "./configError.testUtil.js";
import { envVarName } from "./fields.js";
import { loadConfig, parseConfig } from "./loadConfig.js";
import {
  ALLOW_PLAINTEXT_VARS,
  databaseUrlUsesTls,
  isLoopbackHost,
  plaintextConnections,
  plaintextRefusals,
} from "./transport.js";

const production = { WT_MODE: "production", WT_ENVIRONMENT_PREFIX: "prod", WT_SERVICE: "export" };
const TLS_DB = "postgres://w:p@db.internal:5432/tasks?sslmode=verify-full";

const refusal = (env: Record<string, string>) =>
  configError(() => loadConfig({ env: { ...production, ...env }, file: false }));

describe("TLS in production", () => {
  it("knows the loopback hosts", () => {
    for (const host of ["localhost", "LOCALHOST", "db.localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1"])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      "rabbit.internal",
      "10.0.0.7",
      "128.0.0.1",
      "localhost.example.com",
      "[::2]",
      "0.0.0.0",
    ])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it("reads the database URL's TLS as node-postgres does", () => {
    const tls = (query: string) => databaseUrlUsesTls(new URL(`postgres://u@db/x${query}`));
    for (const query of [
      "?sslmode=require",
      "?sslmode=verify-full",
      "?sslmode=no-verify",
      "?ssl=true",
      "?ssl=1",
    ])
      expect(tls(query), query).toBe(true);
    expect(tls("?sslrootcert=/etc/ca.pem")).toBe(true);
    expect(tls("?sslnegotiation=direct")).toBe(true);
    for (const query of [
      "",
      "?sslmode=disable",
      "?ssl=0",
      "?ssl=false",
      "?sslmode=disable&sslrootcert=/ca.pem",
    ])
      expect(tls(query), query).toBe(false);
  });

  it("finds each plaintext connection off the machine, and whether it is allowed", () => {
    const found = plaintextConnections({
      broker: { url: "amqps://u:p@rabbit-1:5671/,amqp://u:p@rabbit-2:5672/,amqp://u:p@127.0.0.1:5672/" },
      database: { url: "postgres://u:p@db.internal/x", allowPlaintext: true },
    });
    expect(found).toEqual([
      { path: "broker.url", host: "rabbit-2", allowedBy: "broker.allowPlaintext", allowed: false },
      { path: "database.url", host: "db.internal", allowedBy: "database.allowPlaintext", allowed: true },
    ]);
    // A Unix socket, loopback and TLS are never plaintext on a network.
    expect(
      plaintextConnections({
        broker: { url: "amqp://u:p@localhost:5672/" },
        database: { url: "postgres://u@localhost/x?host=/run/postgresql" },
      }),
    ).toEqual([]);
    expect(
      plaintextConnections({ broker: { url: "amqps://u:p@rabbit/" }, database: { url: TLS_DB } }),
    ).toEqual([]);
  });

  it("refuses a plaintext broker off the machine in production, naming the field, the fix and the opt-out", () => {
    const error = refusal({
      AMQP_URL: "amqp://worker:Secret1@rabbit-1:5672/,amqp://worker:Secret1@rabbit-2:5672/",
      DATABASE_URL: TLS_DB,
    });
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.issues).toEqual([
      expect.objectContaining({
        path: "broker.url",
        envVar: "AMQP_URL",
        source: "env AMQP_URL",
        message: expect.stringContaining("not encrypted: amqp:// to rabbit-1, rabbit-2"),
      }),
    ]);
    expect(error.message).toContain("use amqps://");
    expect(error.message).toContain("WT_BROKER_ALLOW_PLAINTEXT=true");
    expect(error.message).not.toContain("Secret1");
  });

  it("refuses a database URL without TLS off the machine in production", () => {
    const error = refusal({
      AMQP_URL: "amqps://w:p@rabbit/",
      DATABASE_URL: "postgres://w:Secret1@db.internal/tasks",
    });
    expect(error.issues.map((issue) => [issue.path, issue.envVar])).toEqual([
      ["database.url", "DATABASE_URL"],
    ]);
    expect(error.message).toContain("sslmode=verify-full");
    expect(error.message).toContain("WT_DATABASE_ALLOW_PLAINTEXT=true");
    expect(error.message).not.toContain("Secret1");
  });

  it("loads with TLS, on loopback, with the opt-out, or outside production", () => {
    const load = (env: Record<string, string>) => loadConfig({ env: { ...production, ...env }, file: false });
    expect(load({ AMQP_URL: "amqps://w:p@rabbit/", DATABASE_URL: TLS_DB }).broker.url).toBe(
      "amqps://w:p@rabbit/",
    );
    expect(
      load({ AMQP_URL: "amqp://w:p@127.0.0.1:5672/", DATABASE_URL: "postgres://w@localhost/x" }).mode,
    ).toBe("production");
    const allowed = load({
      AMQP_URL: "amqp://w:p@rabbit/",
      DATABASE_URL: "postgres://w@db/x",
      WT_BROKER_ALLOW_PLAINTEXT: "true",
      WT_DATABASE_ALLOW_PLAINTEXT: "true",
    });
    expect([allowed.broker.allowPlaintext, allowed.database.allowPlaintext]).toEqual([true, true]);
    // One opt-out does not cover the other connection.
    expect(() =>
      load({
        AMQP_URL: "amqp://w:p@rabbit/",
        DATABASE_URL: "postgres://w@db/x",
        WT_BROKER_ALLOW_PLAINTEXT: "true",
      }),
    ).toThrow(/database\.url \(DATABASE_URL\): not encrypted/);
    expect(
      parseConfig({
        mode: "development",
        broker: { url: "amqp://w:p@rabbit/" },
        database: { url: "postgres://w@db/x" },
      }).mode,
    ).toBe("development");
  });

  it("counts a configured http:// management API off the machine (it carries the broker's credentials)", () => {
    const settings = (managementUrl: string | undefined, allowPlaintext = false) => ({
      broker: { url: "amqps://u:p@rabbit-1:5671/", managementUrl, allowPlaintext },
      database: { url: TLS_DB },
    });
    expect(plaintextConnections(settings("https://u:p@rabbit-1:15671/,http://u:p@rabbit-2:15672/"))).toEqual([
      { path: "broker.managementUrl", host: "rabbit-2", allowedBy: "broker.allowPlaintext", allowed: false },
    ]);
    expect(plaintextConnections(settings("http://u:p@localhost:15672/"))).toEqual([]);
    expect(plaintextConnections(settings(undefined))).toEqual([]);
    expect(plaintextRefusals(settings("http://u:p@rabbit-2:15672/", true))).toEqual([]);
    const error = refusal({
      AMQP_URL: "amqps://worker:Secret1@rabbit-1:5671/",
      RABBITMQ_MANAGEMENT_URL: "http://worker:Secret1@rabbit-1:15672/",
      DATABASE_URL: TLS_DB,
    });
    expect(error.message).toMatch(
      /broker\.managementUrl \(RABBITMQ_MANAGEMENT_URL\): not encrypted: http:\/\//,
    );
    expect(error.message).toMatch(/use https:\/\/.*WT_BROKER_ALLOW_PLAINTEXT=true/);
    expect(error.message).not.toContain("Secret1");
  });

  it("names the opt-outs by the variables the config loader reads", () => {
    for (const [path, variable] of Object.entries(ALLOW_PLAINTEXT_VARS))
      expect(envVarName(path)).toBe(variable);
    expect(plaintextRefusals({ broker: { url: "amqps://rabbit/" }, database: {} })).toEqual([]);
  });
});
