/**
 * One call to the throwaway broker's management API with the credentials its URL carries (tests create and
 * delete broker users with it). A 404 is an answer, not an error: deleting what is already gone is fine.
 */
export async function managementCall(
  managementUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const api = new URL(managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString("base64")}`;
  api.username = "";
  api.password = "";
  const response = await fetch(new URL(path, api), {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
  return response;
}

/** A broker user with every right on the default vhost, for a test that later takes it away (`deleteBrokerUser`). */
export async function createBrokerUser(managementUrl: string, user: string, password: string): Promise<void> {
  await managementCall(managementUrl, "PUT", `api/users/${user}`, { password, tags: "" });
  const rights = { configure: ".*", write: ".*", read: ".*" };
  await managementCall(managementUrl, "PUT", `api/permissions/%2F/${user}`, rights);
}

/** Deletes a broker user (gone already is fine); its open connections are closed by the broker. */
export async function deleteBrokerUser(managementUrl: string, user: string): Promise<void> {
  await managementCall(managementUrl, "DELETE", `api/users/${user}`);
}
