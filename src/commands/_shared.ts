import type { ArgsDef } from "citty";

/** Where the Marathon state comes from (spread into every command that reads Marathon). */
export const marathonArgs = {
  address: {
    type: "positional",
    required: false,
    valueHint: "MARATHON…",
    description: "Marathon addresses (host:port or URL), tried in order",
  },
  marathon: {
    type: "string",
    description: "Marathon address (repeatable; also positional args or MARATHON_URL, comma-separated)",
    valueHint: "url",
  },
  from: {
    type: "string",
    description:
      "Read a saved /v2/apps?embed=apps.tasks or /v2/tasks JSON instead of Marathon (- for stdin; no Marathon flags with it)",
    valueHint: "file",
  },
  auth: {
    type: "string",
    description: "HTTP basic auth for Marathon (or MARATHON_AUTH)",
    valueHint: "user:pass",
  },
  token: { type: "string", description: "DC/OS token, sent as Authorization: token=… (or MARATHON_TOKEN)" },
  "ca-file": {
    type: "string",
    description: "PEM file with the CA that signed Marathon's certificate",
    valueHint: "file",
  },
  timeout: {
    type: "string",
    description: "Seconds to wait for each Marathon request (connect and read)",
    default: "10",
  },
  retries: {
    type: "string",
    description: "Extra rounds over all addresses on connection errors and 5xx",
    default: "3",
  },
  "max-response": {
    type: "string",
    description: "Largest Marathon answer read, after decompression (k, m, g; 1g fits 100k apps × 10 tasks)",
    default: "1g",
    valueHint: "size",
  },
} as const satisfies ArgsDef;

/** How the config is rendered (spread into every command that renders). */
export const renderArgs = {
  group: {
    type: "string",
    description: "Only apps in this HAPROXY_GROUP (repeatable; * for all; default: all apps)",
  },
  head: {
    type: "string",
    description: "File replacing the built-in global/defaults section",
    valueHint: "file",
  },
  templates: {
    type: "string",
    description: "Folder of marathon-lb style templates (files HAPROXY_<NAME>) replacing mhc's defaults",
    valueHint: "dir",
  },
  "http-port": {
    type: "string",
    description: "Port of the shared HTTP frontend that routes by VHOST/PATH",
    default: "80",
  },
  "http-bind": { type: "string", description: "Bind address of the shared HTTP frontend", default: "*" },
  "https-port": {
    type: "string",
    description: "Port of the shared HTTPS frontend (with --ssl-certs; routes VHOSTs by SNI)",
    default: "443",
  },
  "https-bind": { type: "string", description: "Bind address of the shared HTTPS frontend", default: "*" },
  "ssl-certs": {
    type: "string",
    description:
      "Certificate file or folder on the HAProxy host for the shared HTTPS frontend (default: no HTTPS frontend)",
    valueHint: "dir",
  },
  "group-https-by-vhost": {
    type: "boolean",
    description: "With --ssl-certs: one TLS frontend per vhost, with its app's SSL_CERT and BIND_OPTIONS",
  },
  "app-id-port": {
    type: "string",
    description: "Port of the frontend routing http apps by X-Marathon-App-Id (0: none)",
    default: "9091",
  },
  "app-id-bind": { type: "string", description: "Bind address of the app-id frontend", default: "*" },
  "stats-port": { type: "string", description: "Port of the HAProxy stats page (0: none)", default: "9090" },
  "stats-bind": { type: "string", description: "Bind address of the stats page", default: "127.0.0.1" },
  "keep-unreachable": {
    type: "boolean",
    description: "Keep TASK_UNREACHABLE and TASK_LOST tasks as servers (HAProxy's checks decide)",
  },
  "health-check": {
    type: "boolean",
    description: "For apps with health checks, only tasks Marathon reports alive (none yet: left out)",
  },
  "ignore-path-without-vhost": {
    type: "boolean",
    description: "A PATH without a VHOST routes nothing on the shared HTTP frontend (as marathon-lb)",
  },
  "strict-mode": {
    type: "boolean",
    description: "Render only ports labelled HAPROXY_{n}_ENABLED=true (marathon-lb's --strict-mode)",
  },
  "min-serv-port-ip-per-task": {
    type: "string",
    description: "Lowest service port given to IP-per-task apps without one",
    default: "10050",
  },
  "max-serv-port-ip-per-task": {
    type: "string",
    description: "Highest service port given to IP-per-task apps without one",
    default: "10100",
  },
} as const satisfies ArgsDef;

/** The HAProxy binary (validate, sync's validation, deploy). */
export const haproxyArgs = {
  haproxy: { type: "string", description: "HAProxy binary", default: "haproxy", valueHint: "bin" },
} as const satisfies ArgsDef;

/** Safety gates (sync, and render -o replacing an existing file). */
export const gateArgs = {
  "max-drop": {
    type: "string",
    description: "Refuse when more than this percent of all servers would disappear",
    default: "50",
  },
  force: { type: "boolean", description: "Publish even when a safety gate refuses" },
} as const satisfies ArgsDef;

/** git's deadline (sync, deploy). */
export const gitArgs = {
  "git-timeout": {
    type: "string",
    description: "Seconds each git operation may take before it is stopped (exit 9)",
    default: "60",
    valueHint: "seconds",
  },
} as const satisfies ArgsDef;
