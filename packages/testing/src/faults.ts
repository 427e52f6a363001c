/**
 * Fault injection for tests: force-close, through the RabbitMQ management API, the broker connections a
 * component opened under `connectionName` (the name shown in the management UI), as a broker restart or a
 * network cut would. Returns how many were closed.
 */
export async function closeConnectionsNamed(managementUrl: string, connectionName: string): Promise<number> {
  const { api, auth, mine } = await connectionsNamed(managementUrl, connectionName);
  for (const connection of mine) {
    await fetch(new URL(`api/connections/${encodeURIComponent(connection.name)}`, api), {
      method: "DELETE",
      headers: { authorization: auth, "x-reason": "worker-toolbox test: simulated connection loss" },
    });
  }
  return mine.length;
}

/**
 * The RabbitMQ nodes (e.g. `rabbit@host`) that the connections opened under `connectionName` are connected
 * to, one entry per connection: which node of a cluster a producer or worker is using right now. The
 * management API of any node lists the connections of the whole cluster.
 */
export async function connectionNodes(managementUrl: string, connectionName: string): Promise<string[]> {
  const { mine } = await connectionsNamed(managementUrl, connectionName);
  return mine.map((connection) => connection.node ?? "");
}

async function connectionsNamed(managementUrl: string, connectionName: string) {
  const api = new URL(managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString("base64")}`;
  api.username = "";
  api.password = "";
  const response = await fetch(new URL("api/connections", api), { headers: { authorization: auth } });
  if (!response.ok) throw new Error(`management API answered ${response.status} listing connections`);
  const connections = (await response.json()) as {
    name: string;
    node?: string;
    client_properties?: { connection_name?: string };
  }[];
  const mine = connections.filter(
    (connection) => connection.client_properties?.connection_name === connectionName,
  );
  return { api, auth, mine };
}
