import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP forwarder on loopback that stands in for one broker node: `down()` resets every connection through
 * it and refuses new ones (as a node killed with SIGKILL does), `up()` listens again on the same port. Two
 * of them in front of one RabbitMQ make a "two-node" URL list for failover tests without a real cluster.
 */
export interface TcpProxy {
  readonly port: number;
  /** `amqp://…` of `target` with the host and port replaced by this proxy's. */
  urlFor(target: string): string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
          socket.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });
  const down = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    urlFor(target) {
      const url = new URL(target);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.toString();
    },
    down,
    up: () => (server ? Promise.resolve() : listen()),
    close: down,
  };
}
