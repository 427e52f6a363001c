import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./loadConfig.js";
import { maskSecrets, maskUrl } from "./mask.js";

/*
 * Secrets are built from upper-case letters interleaved with any other character (`:`, `/`, `@`, `#`, `?`,
 * `,`, spaces…), and everything around them (schemes, users, hosts, ports, paths) from lower-case letters,
 * digits and punctuation. So any piece of a secret that survives masking, even two characters of it, shows
 * up as an upper-case letter in the output.
 */
const word = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
  minLength: 1,
  maxLength: 8,
});
const any = fc.constantFrom(..."abcz09:/@#?&=,;%+!$*'()[]~ \t.-_\\\"");
const upper = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ");
const secret = fc
  .array(fc.tuple(upper, any), { minLength: 1, maxLength: 12 })
  .map((pairs) => pairs.map(([a, b]) => a + b).join(""));
const port = fc.integer({ min: 1, max: 65_535 }).map(String);

/** URLs that `new URL()` rejects or misreads (no scheme, one slash, no host, bad port, wrong scheme, lists). */
const malformed = fc
  .record({
    user: word,
    pw: secret,
    host: word,
    host2: word,
    port,
    scheme: fc.constantFrom("amqp", "amqps", "postgres", "http", "x"),
  })
  .chain(({ user, pw, host, host2, port, scheme }) =>
    fc
      .constantFrom(
        `${user}:${pw}@${host}:${port}/`,
        `${scheme}:/${user}:${pw}@${host}`,
        `${scheme}:${user}:${pw}@${host}`,
        `${scheme}//${user}:${pw}@${host}:${port}`,
        `${scheme}://${user}:${pw}@`,
        `${scheme}://${user}:${pw}@${host}:notaport/`,
        `${scheme}://${user}:${pw}@${host}:${port}/vhost,${user}:${pw}@${host2}`,
        `${scheme}://${user}:${pw}@${host},${scheme}://${user}:${pw}@${host2}:${port}`,
        `  ${scheme}://${user}:${pw}@${host}  `,
        `${scheme}://${user}:${pw}@${host}/db?sslmode=require&password=${encodeURIComponent(pw)}`,
        `${scheme}://${host}:${port}/db?user=${user}&password=${encodeURIComponent(pw)}`,
        `text before ${user}:${pw}@${host} and after`,
        `:${pw}@`,
      )
      .map((value) => ({ value, secret: pw })),
  );

describe("maskUrl", () => {
  it("masks the password of a well-formed URL and keeps the rest", () => {
    expect(maskUrl("amqp://guest:guest@127.0.0.1:5672/")).toBe("amqp://guest:***@127.0.0.1:5672/");
    expect(maskUrl("postgres://worker:s%40cret@db:5432/tasks")).toBe("postgres://worker:***@db:5432/tasks");
    expect(maskUrl("amqp://127.0.0.1:5672/")).toBe("amqp://127.0.0.1:5672/");
    expect(maskUrl("amqp://user@host/")).toBe("amqp://user@host/");
  });

  it("masks credentials in the malformed URLs the audit found", () => {
    expect(maskUrl("user:pw@host:5672/")).toBe("user:***@host:5672/");
    expect(maskUrl("amqp:/user:pw@host")).not.toContain("pw");
    expect(maskUrl("connecting to user:pw@host failed")).not.toContain("pw");
  });

  it("masks every node of a comma-separated list", () => {
    expect(maskUrl("amqp://u:pa@a:5672/,amqp://u:pb@b:5673/")).toBe(
      "amqp://u:***@a:5672/,amqp://u:***@b:5673/",
    );
  });

  it("masks password query parameters (libpq accepts ?password=)", () => {
    expect(maskUrl("postgres://db/tasks?user=w&password=Sec&sslmode=require")).toBe(
      "postgres://db/tasks?user=w&password=***&sslmode=require",
    );
  });

  it("property: no piece of a secret survives in any malformed URL", () => {
    fc.assert(
      fc.property(malformed, ({ value }) => {
        expect(maskUrl(value)).not.toMatch(/[A-Z]/);
      }),
      { numRuns: 2_000 },
    );
  }, 30_000); // 2,000 runs: seconds on a loaded 2-core CI machine

  it("property: no piece of a secret survives in a well-formed URL", () => {
    fc.assert(
      fc.property(word, secret, word, port, (user, pw, host, p) => {
        const value = `amqp://${user}:${encodeURIComponent(pw)}@${host}:${p}/`;
        expect(maskUrl(value)).not.toMatch(/[A-Z]/);
      }),
    );
  });

  it("maskSecrets masks URLs inside objects and secret-named keys", () => {
    expect(maskSecrets({ a: ["x:Y@h"], passphrase: "P", nested: { url: "amqp://u:P@h" } })).toEqual({
      a: ["x:***@h"],
      passphrase: "***",
      nested: { url: "amqp://u:***@h" },
    });
  });
});

describe("ConfigError for a malformed URL", () => {
  it("property: neither the message nor the issues carry a secret", () => {
    fc.assert(
      fc.property(
        malformed,
        fc.constantFrom("AMQP_URL", "DATABASE_URL", "RABBITMQ_MANAGEMENT_URL"),
        ({ value, secret }, name) => {
          let error: unknown;
          try {
            loadConfig({ env: { [name]: value }, file: false });
          } catch (caught) {
            error = caught;
          }
          // Some lists of malformed parts still parse as URLs; only an error can leak.
          if (error === undefined) return;
          expect(error).toBeInstanceOf(ConfigError);
          const text = `${(error as Error).message}\n${JSON.stringify((error as ConfigError).issues)}`;
          // The value as shown ("got …") has no piece of the secret, and no two pairs of it appear anywhere.
          for (const issue of (error as ConfigError).issues) {
            const shown = /; got (".*")$/.exec(issue.message)?.[1];
            if (shown) expect(JSON.parse(shown)).not.toMatch(/[A-Z]/);
          }
          for (let i = 0; i + 4 <= secret.length; i += 2) expect(text).not.toContain(secret.slice(i, i + 4));
        },
      ),
      { numRuns: 1_000 },
    );
  }, 30_000); // 1,000 config loads: seconds on a loaded 2-core CI machine
});
