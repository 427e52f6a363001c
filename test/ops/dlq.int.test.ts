import type { ChannelModel, ConfirmChannel } from "amqplib";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, drain, eventually, publishDeadLetters, readyCount } from "./support.js";
import { opsWorld } from "./world.js";

const world = opsWorld("ops-dlq", {
  apply: ["export"],
  // The broker dead-letters a message returned more than once.
  env: { WT_QUEUE_DELIVERY_LIMIT: "1" },
});
const { prefix, env } = world;
const dead = `${prefix}.export.dead`;
let connection: ChannelModel;
let channel: ConfirmChannel;
let renderIds: string[];
let pdfIds: string[];

beforeAll(async () => {
  ({ connection, channel } = world);
  renderIds = await publishDeadLetters(channel, prefix, "export", "export.render", 3);
  pdfIds = await publishDeadLetters(channel, prefix, "export", "export.pdf", 2, "permanent-error");
  // A genuine broker dead letter: returned to the quorum queue until its delivery limit is passed.
  channel.publish(`${prefix}.tasks`, "export.crash", Buffer.from("[[], {}, {}]"), {
    correlationId: "crash-1",
    headers: { task: "export.crash", id: "crash-1", retries: 0 },
  });
  await channel.waitForConfirms();
  const consumer = await connection.createChannel();
  await eventually(
    async () => {
      const message = await consumer.get(`${prefix}.export`, { noAck: false });
      if (message) consumer.nack(message, false, true);
      return (await readyCount(channel, dead)) === 6 ? true : undefined;
    },
    20_000,
    "the broker to dead-letter the crashing message",
  );
  await consumer.close();
  await drain(channel, `${prefix}.platform`);
});

/**
 * Messages handed back with basic.nack reach a quorum queue's ready count asynchronously (through its
 * Raft log): wait for the count rather than read it once.
 */
async function settled(queue: string, count: number): Promise<void> {
  await eventually(
    async () => ((await readyCount(channel, queue)) === count ? true : undefined),
    10_000,
    `${queue} to hold ${count} messages again`,
  );
}

describe("worker-toolbox dlq", () => {
  it("lists worker and broker dead letters without consuming them", async () => {
    const result = await cli(["dlq", "list", "export", "--json"], env);
    expect(result.code).toBe(0);
    const listing = JSON.parse(result.stdout) as {
      queue: string;
      total: number;
      messages: Record<string, unknown>[];
    };
    expect(listing).toMatchObject({ queue: dead, total: 6 });
    expect(listing.messages).toHaveLength(6);
    expect(listing.messages[0]).toMatchObject({
      taskId: renderIds[0],
      task: "export.render",
      origin: "worker",
      reason: "retries-exhausted",
      errorClass: "TimeoutError",
      attempts: 5,
      originalRoutingKey: "export.render",
    });
    expect(listing.messages[0]?.ageMs as number).toBeGreaterThanOrEqual(120_000);
    expect(listing.messages.find((m) => m.taskId === "crash-1")).toMatchObject({
      task: "export.crash",
      origin: "broker",
      reason: "delivery_limit",
      originalRoutingKey: "export.crash",
    });
    await settled(dead, 6);

    const text = await cli(["dlq", "list", "export", "--limit", "2"], env);
    expect(text.stdout).toContain(`2 of 6 dead letter(s) in ${dead}, head first:`);
    expect(text.stdout).toMatch(
      /export\.render\s+\S+\s+retries-exhausted\s+5\s+2m\d*s?\s+TimeoutError: downstream timed out/,
    );
    await settled(dead, 6);
  });

  it("summarises by reason, with progress lines in CI and a bar with rate and ETA on a terminal", async () => {
    expect((await cli(["topology", "apply", "--service", "bulk"], env)).code).toBe(0);
    await publishDeadLetters(channel, prefix, "bulk", "bulk.render", 90);
    await publishDeadLetters(channel, prefix, "bulk", "bulk.pdf", 30, "permanent-error");
    await publishDeadLetters(channel, prefix, "bulk", "bulk.render", 10, "invalid-arguments");
    const bulk = `${prefix}.bulk.dead`;
    await settled(bulk, 130);

    const summary = await cli(["dlq", "list", "bulk", "--by", "reason"], env);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain(`130 of 130 dead letter(s) in ${bulk}, by reason:`);
    expect(summary.stdout).toMatch(/^reason +count +tasks +oldest +newest +last error$/m);
    expect(summary.stdout).toMatch(
      /^retries-exhausted +90 +bulk\.render +2m\d*s? +2m\d*s? +TimeoutError: downstream timed out$/m,
    );
    expect(summary.stdout).toMatch(/^permanent-error +30 +bulk\.pdf /m);
    expect(summary.stdout).toMatch(/^invalid-arguments +10 +bulk\.render /m);
    // Not a terminal: plain progress lines on stderr, the last one complete.
    expect(summary.stderr).toMatch(/list: 130\/130 dead letters \(\d+\/s\)\n$/);
    await settled(bulk, 130);

    const byTask = JSON.parse((await cli(["dlq", "list", "bulk", "--by", "task", "--json"], env)).stdout);
    expect(
      byTask.groups.map((g: { key: string; count: number; others: string[] }) => [g.key, g.count, g.others]),
    ).toEqual([
      ["bulk.render", 100, ["retries-exhausted", "invalid-arguments"]],
      ["bulk.pdf", 30, ["permanent-error"]],
    ]);
    await settled(bulk, 130);

    const onTerminal = await cli(["dlq", "list", "bulk", "--limit", "120"], env, { stderrIsTTY: true });
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.stderr).toMatch(/list \[[█░]+\] 120\/120 dead letters \| \d+\/s \| ETA \d+s/);
    await settled(bulk, 130);
    await channel.purgeQueue(bulk);
  });

  it("dry-runs a replay without changing anything", async () => {
    const result = await cli(
      ["dlq", "replay", "export", "--task", "export.render", "--dry-run", "--json"],
      env,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      dryRun: true,
      total: 6,
      examined: 6,
      matched: 3,
      replayed: 0,
    });
    await settled(dead, 6);
    expect(await readyCount(channel, `${prefix}.export`)).toBe(0);
  });

  it("replays by task name and by id as fresh first attempts; the rest stays", async () => {
    // This file has no result database: the replays are not recorded on rows (their runs will), one warning.
    const byTask = await cli(["dlq", "replay", "export", "--task", "export.render"], env);
    expect(byTask.code).toBe(0);
    expect(byTask.stderr).toMatch(
      /^warning: the replays are not recorded on their result rows now \(PostgreSQL at [^)]+\); their runs record them\n$/,
    );
    expect(byTask.stdout).toContain(`Replayed 3 of 3 matching dead letter(s) from ${dead} (examined 6 of 6`);
    const byId = await cli(["dlq", "replay", "export", "--id", "crash-1", "--json"], env);
    expect(JSON.parse(byId.stdout)).toMatchObject({ matched: 1, replayed: 1, failed: [] });

    const replayed = await drain(channel, `${prefix}.export`);
    expect(replayed.map((m) => m.id).sort()).toEqual([...renderIds, "crash-1"].sort());
    for (const { id, headers } of replayed) {
      expect(headers.retries).toBe(0);
      // A new generation of the task (the dead letters carried none: the first run, generation 0).
      expect(headers["x-wt-generation"]).toBe(1);
      // The failed run's stamp and the broker's death headers go; the producer's tracking metadata stays.
      expect(
        Object.keys(headers).filter(
          (key) =>
            (key.startsWith("x-wt-") && key !== "x-wt-tracking" && key !== "x-wt-generation") ||
            key.startsWith("x-death"),
        ),
      ).toEqual([]);
      if (id === "crash-1") expect(headers["x-wt-tracking"]).toBeUndefined();
      else
        expect(headers["x-wt-tracking"]).toEqual({
          requestedBy: "user:7",
          ticket: expect.stringMatching(/^T-\d$/),
        });
    }
    // The platform queue saw the replays too (they went through the task exchange).
    expect((await drain(channel, `${prefix}.platform`)).length).toBe(4);
    const left = await cli(["dlq", "list", "export", "--json"], env);
    expect(
      (JSON.parse(left.stdout) as { messages: { taskId: string }[] }).messages.map((m) => m.taskId),
    ).toEqual(pdfIds);
  });

  it("needs exactly one selection for replay, and --yes for purge (exit 2)", async () => {
    expect((await cli(["dlq", "replay", "export"], env)).code).toBe(2);
    // --wait reads the result database: without one configured (exit 2) or reachable (exit 1) it fails
    // before replaying anything.
    const unset = await cli(["dlq", "replay", "export", "--all", "--wait"], env);
    expect(unset.code, unset.stderr).toBe(2);
    expect(unset.stderr).toContain("database.url (DATABASE_URL): missing");
    const blind = await cli(["dlq", "replay", "export", "--all", "--wait"], {
      ...env,
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
    });
    expect(blind.code, blind.stderr).toBe(1);
    expect(blind.stderr).toContain(
      "error DATABASE_UNAVAILABLE: --wait reads the result database, which is unreachable",
    );
    expect((await cli(["dlq", "replay", "export", "--all", "--task", "export.pdf"], env)).code).toBe(2);
    const refused = await cli(["dlq", "purge", "export"], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Refusing to purge the dead letters of export without --yes");
    await settled(dead, 2);

    const purged = await cli(["dlq", "purge", "export", "--yes"], env);
    expect(purged).toMatchObject({ code: 0, stdout: "Purged 2 dead letter(s) of export.\n" });
    expect(await readyCount(channel, dead)).toBe(0);
    // What a script reads: the same count as JSON.
    const again = await cli(["dlq", "purge", "export", "--yes", "--json"], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ service: "export", purged: 0 });
    expect((await cli(["dlq", "list", "export"], env)).stdout).toBe(`${dead} is empty.\n`);
  });

  it("names a missing dead-letter queue", async () => {
    const result = await cli(["dlq", "list", "nosuch"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error TOPOLOGY_MISMATCH: The dead-letter queue ${prefix}.nosuch.dead does not exist.`,
    );
  });
});
