import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { afterAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";

const { amqpUrl, managementUrl } = testServers();
const prefix = createTestNamespace("cli-topology");
const env = {
  AMQP_URL: amqpUrl,
  RABBITMQ_MANAGEMENT_URL: managementUrl,
  WT_ENVIRONMENT_PREFIX: prefix,
  WT_SERVICE: "export",
  WT_QUEUE_DELAY_RUNGS_MS: "1000,5000",
};

const run = (argv: string[], extraEnv: Record<string, string | undefined> = {}) =>
  runCliCaptured(argv, { ...env, ...extraEnv });

afterAll(async () => {
  await deleteNamespace(managementUrl!, prefix);
});

describe("worker-toolbox topology apply / verify", () => {
  it("applies, verifies, and names the missing platform binding after it is removed", async () => {
    const applied = await run(["topology", "apply"]);
    expect(applied).toMatchObject({ code: 0, stderr: "" });
    expect(applied.stdout).toContain(`queue    ${prefix}.platform`);
    expect(applied.stdout).toContain(`binding  ${prefix}.tasks -> ${prefix}.platform [#]`);
    expect((await run(["topology", "apply"])).code).toBe(0);

    const clean = await run(["topology", "verify"]);
    expect(clean).toMatchObject({ code: 0, stderr: "" });
    expect(clean.stdout).toContain(`The broker matches the topology of "${prefix}"`);

    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    await channel.unbindQueue(`${prefix}.platform`, `${prefix}.tasks`, "#");
    await connection.close();

    const drifted = await run(["topology", "verify"]);
    expect(drifted.code).toBe(1);
    expect(drifted.stdout).toContain(
      `binding ${prefix}.tasks -> ${prefix}.platform [#] is missing — messages for it are not routed`,
    );
    const json = await run(["topology", "verify", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      prefix,
      ok: false,
      bindingsChecked: "management-api",
      mismatches: [
        { entity: "binding", name: `${prefix}.tasks -> ${prefix}.platform [#]`, problem: "missing" },
      ],
    });

    // apply repairs the drift.
    expect((await run(["topology", "apply"])).code).toBe(0);
    expect((await run(["topology", "verify"])).code).toBe(0);
  });

  it("fails when bindings cannot be checked (no management API), unless --skip-bindings accepts it", async () => {
    const unreachable = { RABBITMQ_MANAGEMENT_URL: "http://guest:pw@127.0.0.1:1/" };
    const strict = await run(["topology", "verify"], unreachable);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain("bindings NOT checked");
    expect(strict.stderr).toContain(
      "error: bindings were not checked: cannot reach the RabbitMQ management API at http://guest:***@127.0.0.1:1/",
    );
    const accepted = await run(["topology", "verify", "--skip-bindings"], unreachable);
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain("warning: bindings were not checked");
  });

  it("explains connection failures with the password masked", async () => {
    const broker = new URL(amqpUrl);
    const refused = await run(["topology", "verify", "--amqp-url", "amqp://guest:topsecret@127.0.0.1:1/"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "error BROKER_UNAVAILABLE: cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/ (connection refused)",
    );
    const wrongPassword = `amqp://${broker.username}:wrong-password@${broker.host}/`;
    const auth = await run(["topology", "apply", "--amqp-url", wrongPassword]);
    expect(auth.code).toBe(1);
    expect(auth.stderr).toContain("error BROKER_AUTH_FAILED:");
    expect(auth.stderr).toContain("ACCESS_REFUSED");
    const vhost = await run([
      "topology",
      "apply",
      "--amqp-url",
      `${amqpUrl.replace(/\/[^/]*$/, "")}/no-such-vhost`,
    ]);
    expect(vhost.code).toBe(1);
    expect(vhost.stderr).toContain("error BROKER_VHOST_NOT_FOUND: RabbitMQ at");
    expect(vhost.stderr).toContain('refused vhost "no-such-vhost"');
    expect(refused.stderr + auth.stderr + vhost.stderr).not.toMatch(/topsecret|wrong-password/);
  });

  it("runs as the worker-toolbox binary from the repository (no build)", async () => {
    const bin = fileURLToPath(new URL("../../packages/cli/bin/worker-toolbox.js", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "topology", "verify", "--json"], {
      env: { ...process.env, ...env },
    });
    expect(JSON.parse(stdout)).toMatchObject({ prefix, ok: true });
  });
});
