import { z } from "zod";
import { doc } from "./doc.js";

/** `dashboard.*`: where `worker-toolbox dashboard` listens and who may use it. */
export const dashboardSchema = z.strictObject({
  host: doc(
    z.string().min(1).default("127.0.0.1"),
    "Address `worker-toolbox dashboard` binds to. Anything but a loopback address needs " +
      "`dashboard.viewerPassword` or `dashboard.operatorPassword`: the dashboard refuses to start without.",
    "0.0.0.0",
  ),
  port: doc(
    z.number().int().min(0).max(65_535).default(8089),
    "Port of the dashboard (0: any free port).",
    8089,
  ),
  viewerPassword: doc(
    z.string().min(12, "must be at least 12 characters").optional(),
    "Password of the read-only `viewer` (HTTP basic auth, or `Authorization: Bearer <password>`). " +
      "When no password is set, the dashboard is open to everyone who reaches it (loopback only).",
    "a-long-random-viewer-secret",
  ),
  operatorPassword: doc(
    z.string().min(12, "must be at least 12 characters").optional(),
    "Password of the `operator`, who may also revoke, replay and purge (basic auth user `operator`).",
    "a-long-random-operator-secret",
  ),
});
