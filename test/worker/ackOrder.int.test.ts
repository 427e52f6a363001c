import { entityNames } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { SERVICE, sleep } from "../fixtures/workers/tasks.js";
import { sendEchoes, startWorkerProcess, waitForSuccesses, withFaultHarness } from "./faults.js";

const fault = withFaultHarness("ackorder");

/**
 * The worker acks a run of settled deliveries with one cumulative ack (`allUpTo`), which also settles every
 * earlier delivery the broker still counts as unacked. A task that is still running when hundreds of later
 * ones are committed and acked must stay unacked: killed, the worker must get it back from the broker.
 */
describe("cumulative acks with a task still running", () => {
  it("the running task returns to the queue after kill -9; the committed ones do not", async () => {
    const { h } = fault;
    const running = await h.producer.send(sleep, [600_000]);
    const ids = await sendEchoes(h, 1_000);
    const proc = startWorkerProcess(h.config);
    await proc.ready;
    await waitForSuccesses(h, ids.length, 120_000);
    // Every echo's row is committed; their acks go out at the end of the turn that settled them.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await h.row(running.id)).toBeUndefined();
    proc.child.kill("SIGKILL");
    expect((await proc.exited).signal).toBe("SIGKILL");

    let depths = await h.depths();
    for (let i = 0; i < 100 && depths.queue === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      depths = await h.depths();
    }
    // Only the task that was running: the broker redelivers it; nothing that was acked comes back.
    expect(depths).toEqual({ queue: 1, dead: 0 });
    const channel = await h.channel();
    const back = await channel.get(entityNames(h.prefix).serviceQueue(SERVICE), { noAck: true });
    expect(back ? back.properties.headers?.id : undefined).toBe(running.id);
  });
});
