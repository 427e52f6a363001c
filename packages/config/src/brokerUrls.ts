/**
 * A RabbitMQ cluster is reached through a list of node URLs: `broker.url` holds one URL or several,
 * comma-separated (`AMQP_URL=amqp://u:p@rabbit-1:5672/,amqp://u:p@rabbit-2:5672/`), or in a config file
 * a JSON array. Every process connects to one node at a time and fails over to the next (see
 * BrokerConnection in the runtime). This module is the one place that splits and checks the list.
 */

/**
 * Split a list at the commas that start a new URL (`,` followed by `scheme://`), so a comma inside a
 * password does not split it. Blank parts are dropped.
 */
export function splitUrlList(text: string): string[] {
  return text
    .split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** The broker node URLs of a config, in the order given. */
export function brokerUrls(config: { broker: { url: string } }): string[] {
  return splitUrlList(config.broker.url);
}

/** Why `text` is not a usable list of amqp(s) URLs, or undefined when it is. */
export function amqpUrlListProblem(text: string): string | undefined {
  const urls = splitUrlList(text);
  if (urls.length === 0) return "must be an amqp:// or amqps:// URL with a host";
  const vhosts = new Set<string>();
  for (const [index, value] of urls.entries()) {
    const which = urls.length > 1 ? `node ${index + 1} ` : "";
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${which}must be an amqp:// or amqps:// URL with a host`;
    }
    if ((url.protocol !== "amqp:" && url.protocol !== "amqps:") || url.hostname === "")
      return `${which}must be an amqp:// or amqps:// URL with a host`;
    vhosts.add(url.pathname.length > 1 ? decodeOrKeep(url.pathname.slice(1)) : "/");
  }
  if (vhosts.size > 1)
    return "every node of a cluster must name the same vhost (the vhosts of a cluster are shared)";
  if (new Set(urls).size < urls.length) return "names the same node twice";
  return undefined;
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
