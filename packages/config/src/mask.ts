/**
 * Mask credentials so a value can be logged or shown in an error: the password of every URL in the text
 * (`amqp://worker:***@host/`) and password-like query parameters (`?password=***`).
 *
 * It works on the text, never through `new URL()`: a malformed value (no scheme, one slash, a bad port, a
 * list of URLs, a password with `/` or `@` in it) is exactly what ends up in an error message, and the URL
 * parser misreads those without seeing a password at all. The rule is deliberately greedy: in each
 * stretch of text after a `://` (or from the start), everything between the first `:` and the last `@` is
 * masked. It may hide a host or port that happened to sit in between; it never shows a secret.
 * Proven by a property test over malformed URLs (mask.test.ts).
 */
export function maskUrl(value: string): string {
  return maskQuerySecrets(authorities(value).map(maskUserinfo).join("://"));
}

const MASK = "***";

/**
 * The text split at every `://`. A stretch that has a `:` but no `@` after it (`u:pa` of `amqp://u:pa://b@h`)
 * is a password that itself contains `://`, so it joins the next one, unless it ends where a new URL of a
 * list begins (`…:5672/,amqp`).
 */
function authorities(value: string): string[] {
  const parts = value.split("://");
  const out: string[] = [];
  let current = parts[0] ?? "";
  for (const next of parts.slice(1)) {
    const colon = current.indexOf(":");
    const openPassword = colon >= 0 && current.lastIndexOf("@") < colon && out.length > 0;
    if (openPassword && !/[,;\s][a-z][a-z0-9+.-]*$/i.test(current)) current = `${current}://${next}`;
    else {
      out.push(current);
      current = next;
    }
  }
  out.push(current);
  return out;
}

function maskUserinfo(part: string): string {
  const at = part.lastIndexOf("@");
  const colon = part.indexOf(":");
  if (at < 0 || colon < 0 || colon > at) return part;
  return `${part.slice(0, colon + 1)}${MASK}${part.slice(at)}`;
}

/** libpq and many HTTP APIs take credentials as query parameters. */
const QUERY_SECRET =
  /([?&;](?:password|passwd|pwd|pass|sslpassword|secret|token|access_token|api[_-]?key)=)[^&#\s]*/gi;

function maskQuerySecrets(text: string): string {
  return text.replace(QUERY_SECRET, `$1${MASK}`);
}

/** Mask every credential-looking string inside a plain value (config objects, error details). */
export function maskSecrets<T>(value: T): T {
  if (typeof value === "string") return maskUrl(value) as T;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item)) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] =
        /pass(word|phrase)?$|secret|token/i.test(key) && typeof item === "string" ? MASK : maskSecrets(item);
    }
    return out as T;
  }
  return value;
}
