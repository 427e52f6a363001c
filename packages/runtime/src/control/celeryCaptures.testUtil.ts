/**
 * Messages captured from Debian's Celery 5.2.6 (python3-celery) against the toolbox topology (prefix
 * `cap`, control_exchange `cap.celery`): what `app.control.inspect()` and `app.control.revoke()` publish on
 * the pidbox exchange. The pidbox codec's tests compare against these.
 */
export const CAPTURED_PIDBOX = {
  hello: {
    headers: {
      clock: 1,
      expires: 1796468766.1861928,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "hello",
      arguments: {
        from_node: "capw@host",
        revoked: {},
      },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "76b15580-7112-4630-99d6-0f81ce9ce525",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "f7584bf2-02f8-3992-a8bc-22384beea2f3",
      },
    },
  },
  ping: {
    headers: {
      clock: 1,
      expires: 1796468778.8859303,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "ping",
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "530fd8b9-05de-4257-9e3b-a817a3d9f55e",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "0aa5c2ff-f01c-30ad-bd50-4534fe522230",
      },
    },
  },
  registered: {
    headers: {
      clock: 5,
      expires: 1796468780.5190797,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "registered",
      arguments: {
        taskinfoitems: [],
      },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "1e639b8c-a3fe-4786-9594-5c274dd0b354",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "14718f03-7776-3cc0-833d-0e4a81be7121",
      },
    },
  },
  active_queues: {
    headers: {
      clock: 9,
      expires: 1796468782.0279915,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "active_queues",
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "f08302e3-af66-42f3-bec8-41fc6d1cd744",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "8fab7380-c128-3499-a410-4ddc51808a4e",
      },
    },
  },
  stats: {
    headers: {
      clock: 13,
      expires: 1796468783.5394237,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "stats",
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "1d5b6dcf-a63b-4fcb-afee-c3fbd8cf3d3b",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "14718f03-7776-3cc0-833d-0e4a81be7121",
      },
    },
  },
  revoked: {
    headers: {
      clock: 17,
      expires: 1796468785.050442,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "revoked",
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "540e7f19-1fba-4140-9144-de1938837617",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "8658cc37-ca5a-334b-87dc-1b4dd8255a9d",
      },
    },
  },
  active: {
    headers: {
      clock: 21,
      expires: 1796468789.8919811,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "active",
      arguments: {
        safe: null,
      },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "3ce67a24-c403-4aab-8a7a-56d002b6b177",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "492fb43f-6629-301b-b209-88c1e8919c63",
      },
    },
  },
  reserved: {
    headers: {
      clock: 22,
      expires: 1796468791.4129612,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "reserved",
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "5a7302db-df72-48d2-898b-7bd1008721b6",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "8c82cdec-99b6-38d5-997a-3fbb494d3296",
      },
    },
  },
  query_task: {
    headers: {
      clock: 23,
      expires: 1796468792.9370182,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "query_task",
      arguments: {
        ids: ["580670b5-249e-44a7-86fc-6e360222de23", "6c495e2d-04bc-49c0-98ac-a492876e3d50"],
      },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "6554ba24-7896-40c9-ba21-3b4a8cd150a0",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "904ea4fa-de0a-30bc-bad6-2a2788e8302d",
      },
    },
  },
  revoke: {
    headers: {
      clock: 29,
      expires: 1796468795.6676135,
    },
    properties: {
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 0,
    },
    body: {
      method: "revoke",
      arguments: {
        task_id: "6c495e2d-04bc-49c0-98ac-a492876e3d50",
        terminate: false,
        signal: "SIGTERM",
      },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "9d2aee2c-5961-434d-9bb2-1798c6e730dd",
      reply_to: {
        exchange: "reply.cap.celery.pidbox",
        routing_key: "552e0c22-9d71-3284-a574-ed1dbb8deb93",
      },
    },
  },
} as const;
