import { describe, expect, it } from "vitest";
import { consumerTimeoutOf } from "./consumerTimeout.js";

/** As amqplib reports a channel.close: the reply code as `code`, the reply text in the message. */
const closed = (code: number, text: string) =>
  Object.assign(new Error(`Channel closed by server: ${code} (PRECONDITION-FAILED) with message "${text}"`), {
    code,
  });

describe("consumerTimeoutOf", () => {
  it("reads the timeout from RabbitMQ's consumer_timeout close (3.10's wording)", () => {
    const error = closed(
      406,
      "PRECONDITION_FAILED - delivery acknowledgement on channel 4 timed out. Timeout value used: 2000 ms. This timeout value can be configured, see consumers doc guide to learn more",
    );
    expect(consumerTimeoutOf(error)).toBe(2000);
  });

  it("is NaN when the broker names no value, undefined for every other close", () => {
    expect(consumerTimeoutOf(closed(406, "delivery acknowledgement on channel 1 timed out"))).toBeNaN();
    expect(consumerTimeoutOf(closed(406, "PRECONDITION_FAILED - unknown delivery tag 7"))).toBeUndefined();
    expect(consumerTimeoutOf(closed(404, "delivery acknowledgement on channel 1 timed out"))).toBeUndefined();
    expect(consumerTimeoutOf(new Error("Connection closed"))).toBeUndefined();
    expect(consumerTimeoutOf(undefined)).toBeUndefined();
  });
});
