/**
 * Fault injection for tests: force-close, through the RabbitMQ management API, the broker connections a
 * component opened under `connectionName` (the name shown in the management UI), as a broker restart or a
 * network cut would. Returns how many were closed.
 */
export async function closeConnectionsNamed(managementUrl: string, connectionName: string): Promise<number> {
  const api = new URL(managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString("base64")}`;
  api.username = "";
  api.password = "";
  const response = await fetch(new URL("api/connections", api), { headers: { authorization: auth } });
  if (!response.ok) throw new Error(`management API answered ${response.status} listing connections`);
  const connections = (await response.json()) as {
    name: string;
    client_properties?: { connection_name?: string };
  }[];
  const mine = connections.filter(
    (connection) => connection.client_properties?.connection_name === connectionName,
  );
  for (const connection of mine) {
    await fetch(new URL(`api/connections/${encodeURIComponent(connection.name)}`, api), {
      method: "DELETE",
      headers: { authorization: auth, "x-reason": "worker-toolbox test: simulated connection loss" },
    });
  }
  return mine.length;
}
