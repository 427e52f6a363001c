import { describe, expect, it } from "vitest";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

describe("CeleryDecimal", () => {
  // Expected values are Python's str(Decimal(text)).
  it.each([
    ["1.10", "1.10"],
    ["+1", "1"],
    ["-0.00", "-0.00"],
    [".5", "0.5"],
    ["1.", "1"],
    ["007", "7"],
    ["1e3", "1E+3"],
    ["1.5e-3", "0.0015"],
    ["0.0000003", "3E-7"],
    ["-0.00000030", "-3.0E-7"],
    ["0.000001", "0.000001"],
    ["123.456e10", "1.23456E+12"],
    ["0e5", "0E+5"],
    ["inf", "Infinity"],
    ["-Infinity", "-Infinity"],
    ["nan", "NaN"],
    ["sNaN007", "sNaN7"],
  ])("%s → %s", (text, expected) => {
    expect(new CeleryDecimal(text).value).toBe(expected);
  });

  it.each(["", "1,5", "1e", "e5", ".", "0x10", "1 "])("rejects %j", (text) => {
    expect(() => new CeleryDecimal(text)).toThrow(expect.objectContaining({ code: "MESSAGE_INVALID" }));
  });
});

describe("CeleryDate and CeleryTime", () => {
  it("accept calendar dates and isoformat times, canonicalised like Python", () => {
    expect(new CeleryDate("2024-02-29").value).toBe("2024-02-29");
    expect(new CeleryTime("23:59:59.000000-00:00").value).toBe("23:59:59+00:00");
    expect(new CeleryTime("00:00:00.000001").value).toBe("00:00:00.000001");
  });

  it.each(["2023-02-29", "0000-01-01", "2024-1-1", "2024-01-01T00:00:00"])(
    "CeleryDate rejects %s",
    (text) => {
      expect(() => new CeleryDate(text)).toThrow(expect.objectContaining({ code: "MESSAGE_INVALID" }));
    },
  );

  it.each(["24:00:00", "12:00", "12:00:00.5", "12:00:00Z"])("CeleryTime rejects %s", (text) => {
    expect(() => new CeleryTime(text)).toThrow(expect.objectContaining({ code: "MESSAGE_INVALID" }));
  });
});
