/** Replace the password of a URL with `***` so it can be logged or shown in an error. */
export function maskUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = "***";
    return url.toString();
  } catch {
    // Not a URL we can parse: mask anything that looks like `user:password@`.
    return value.replace(/(\/\/[^:/@\s]+:)[^@\s]*@/g, "$1***@");
  }
}

/** Mask every credential-looking string inside a plain value (config objects, error details). */
export function maskSecrets<T>(value: T): T {
  if (typeof value === "string") return maskUrl(value) as T;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item)) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] =
        /pass(word|phrase)?$|secret|token/i.test(key) && typeof item === "string" ? "***" : maskSecrets(item);
    }
    return out as T;
  }
  return value;
}
