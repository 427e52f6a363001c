import { describe, expect, it } from "vitest";
import { assertSafeBind, createAuthenticator, isLoopback } from "./auth.js";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("dashboard auth", () => {
  const auth = createAuthenticator({
    viewerPassword: "viewer-secret-1",
    operatorPassword: "operator-secret-1",
  });

  it("tells viewers from operators by their password (basic or bearer)", () => {
    expect(auth.authenticate(basic("viewer", "viewer-secret-1"))).toEqual({ role: "viewer", user: "viewer" });
    expect(auth.authenticate(basic("operator", "operator-secret-1"))).toEqual({
      role: "operator",
      user: "operator",
    });
    expect(auth.authenticate("Bearer operator-secret-1")?.role).toBe("operator");
    expect(auth.authenticate("Bearer viewer-secret-1")?.role).toBe("viewer");
  });

  it("refuses wrong, swapped and missing credentials", () => {
    expect(auth.authenticate(undefined)).toBeUndefined();
    expect(auth.authenticate(basic("viewer", "operator-secret-1"))).toBeUndefined();
    expect(auth.authenticate(basic("operator", "nope"))).toBeUndefined();
    expect(auth.authenticate("Digest abc")).toBeUndefined();
  });

  it("lets everyone act when no password is set (loopback only)", () => {
    expect(createAuthenticator({}).authenticate(undefined)).toEqual({ role: "operator", user: "anonymous" });
  });

  it("binds CSRF tokens to the role", () => {
    const viewer = { role: "viewer" as const, user: "viewer" };
    const operator = { role: "operator" as const, user: "operator" };
    expect(auth.checkCsrf(operator, auth.csrfToken(operator))).toBe(true);
    expect(auth.checkCsrf(operator, auth.csrfToken(viewer))).toBe(false);
    expect(auth.checkCsrf(operator, undefined)).toBe(false);
    // A token from another process (another secret) is worthless.
    expect(auth.checkCsrf(operator, createAuthenticator({}).csrfToken(operator))).toBe(false);
  });

  it("refuses an open dashboard on a reachable address", () => {
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(isLoopback("10.0.0.5")).toBe(false);
    expect(() => assertSafeBind("0.0.0.0", {})).toThrow(/Refusing to serve the dashboard on 0.0.0.0/);
    expect(() => assertSafeBind("0.0.0.0", { viewerPassword: "long-enough-pass" })).not.toThrow();
    expect(() => assertSafeBind("127.0.0.1", {})).not.toThrow();
  });
});
