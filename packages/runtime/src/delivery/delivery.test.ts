import { describe, expect, it } from "vitest";
import { AckTracker } from "../consumer/acks.js";
import { Delivery, DeliveryStateError } from "./delivery.js";
import { fakeChannel, message } from "./fakes.testUtil.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("a delivery", () => {
  it("is settled once: a second settle of either kind throws DeliveryStateError", () => {
    const { asChannel } = fakeChannel();
    const acks = new AckTracker(asChannel);
    const acked = new Delivery(message(1), acks);
    acked.ack();
    expect(() => acked.ack()).toThrow(DeliveryStateError);
    expect(() => acked.giveBack()).toThrow(/already settled \(acked\); giveBack\(\)/);
    const given = new Delivery(message(2), acks);
    given.giveBack();
    expect(() => given.ack()).toThrow(/already settled \(given-back\); ack\(\)/);
    expect(given.state).toBe("given-back");
  });

  it("acks through the tracker (coalesced) and gives back with a requeueing nack", async () => {
    const { channel, asChannel } = fakeChannel();
    const acks = new AckTracker(asChannel);
    const [one, two, three] = [1, 2, 3].map((tag) => new Delivery(message(tag), acks));
    two!.giveBack();
    expect(channel.nack).toHaveBeenCalledWith(two!.message, false, true);
    one!.ack();
    three!.ack();
    await tick();
    // Nothing below 3 is unsettled any more: one cumulative ack covers 1 and 3.
    expect(channel.ack).toHaveBeenCalledTimes(1);
    expect(channel.ack).toHaveBeenCalledWith({ fields: { deliveryTag: 3 } }, true);
  });

  it("signals `stopped` when its channel closes or its owner stops, and settling then touches nothing", () => {
    const { channel, asChannel, close } = fakeChannel();
    const stop = new AbortController();
    const first = new Delivery(message(1), new AckTracker(asChannel, stop.signal));
    expect(first.stopped.aborted).toBe(false);
    stop.abort();
    expect(first.stopped.aborted).toBe(true);

    const second = new Delivery(message(2), new AckTracker(asChannel));
    close();
    expect(second.stopped.aborted).toBe(true);
    second.giveBack();
    expect(channel.nack).not.toHaveBeenCalled();
    expect(() => second.ack()).toThrow(DeliveryStateError);
  });
});
