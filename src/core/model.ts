import type { Templates } from "./templates.ts";

/** The normalised model: what mhc knows after reading Marathon, before writing any HAProxy text. */

export type Mode = "tcp" | "http";

export interface HealthCheck {
  /** HTTP checks send `GET path`; `tls` adds check-ssl. TCP checks only connect. */
  kind: "http" | "tcp";
  tls: boolean;
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  fall: number;
  /** Marathon's check was given by absolute `port`: HAProxy checks that port on the server's host. */
  port?: number;
}

export interface Server {
  /** Stable, sanitised `<host>_<port>`. */
  name: string;
  host: string;
  port: number;
  taskId: string;
  /** The task's port of `Service.healthCheckPortIndex`, where HAProxy checks this server. */
  checkPort?: number;
  /** An old blue/green colour's task: in maintenance, so it takes no new connections. */
  draining: boolean;
}

/** Basic auth of one service; `password` is a crypt(3) hash when `hashed`. Never printed outside the config. */
export interface BasicAuth {
  realm: string;
  user: string;
  password: string;
  hashed: boolean;
}

/** A blue/green deployment group rendered as one service. */
export interface BlueGreen {
  newApp: string;
  newColour?: string;
  oldApps: string[];
  /** Servers from the new colour's tasks. */
  newServers: number;
}

export interface Service {
  appId: string;
  portIndex: number;
  servicePort: number;
  /** Frontend and backend name: `<app path>_<service port>`, sanitised. */
  name: string;
  bindAddress: string;
  bindPort: number;
  mode: Mode;
  balance: string;
  vhosts: string[];
  paths: string[];
  /** PATH was given with `-i`: prefixes match whatever the case. */
  pathsIgnoreCase: boolean;
  backendWeight: number;
  healthCheck?: HealthCheck;
  /** Servers are checked on the task's port of this port index (BACKEND_HEALTHCHECK_PORT_INDEX). */
  healthCheckPortIndex?: number;
  /** Access and HTTP behaviour from labels (absent: not set). */
  auth?: BasicAuth;
  redirectToHttps?: boolean;
  hsts?: boolean;
  sticky?: boolean;
  allowedSources?: string[];
  proxyPassPath?: string;
  revProxyPath?: string;
  rootRedirect?: string;
  /** TLS on the service's own bind. */
  sslCert?: string;
  bindOptions?: string;
  /** Per-port template overrides from `HAPROXY_{n}_<TEMPLATE>` labels, checked. */
  templates?: Templates;
  blueGreen?: BlueGreen;
  servers: Server[];
}

export interface ExcludedTask {
  appId: string;
  taskId: string;
  reason: string;
}

/** An app (portIndex null) or one of its ports left out of the config, and why, in words a commit can quote. */
export interface Dropped {
  appId: string;
  portIndex: number | null;
  reason: string;
}

export interface Model {
  services: Service[];
  excluded: ExcludedTask[];
  /** Sorted by app id, then port index (whole apps first), then reason. */
  dropped: Dropped[];
  warnings: string[];
}

export interface RenderOptions {
  /** Keep only apps in these HAProxy groups; empty means every app. `*` matches all. */
  groups: string[];
  httpPort: number;
  httpBindAddress: string;
  statsPort: number;
  statsBindAddress: string;
  /** The frontend routing http-mode apps by `X-Marathon-App-Id` (0: none). */
  appIdPort: number;
  appIdBindAddress: string;
  /** The shared HTTPS frontend, emitted when `sslCerts` is set and some service is routed. */
  httpsPort: number;
  httpsBindAddress: string;
  /** Certificate file or folder on the HAProxy host for the shared HTTPS frontend (`crt`). */
  sslCerts?: string;
  /** The HTTPS port routes by SNI to one TLS frontend per vhost (its own certificate and bind options). */
  groupHttpsByVhost?: boolean;
  /** Templates from `--templates DIR`, checked; each replaces mhc's default for every app. */
  templates?: Templates;
  /** Keep TASK_UNREACHABLE and TASK_LOST tasks as servers (HAProxy's checks decide) instead of excluding them. */
  keepUnreachable: boolean;
  /**
   * marathon-lb's `--health-check`: for apps with health checks, only tasks Marathon reports alive
   * are servers (a task without results yet is left out too).
   */
  healthCheck: boolean;
  /** marathon-lb's reading of PATH: without a VHOST it routes nothing on the shared frontend. */
  ignorePathWithoutVhost: boolean;
  /** marathon-lb's strict mode: only ports labelled `HAPROXY_{n}_ENABLED=true` are rendered. */
  strictMode: boolean;
  /** Range of service ports given to IP-per-task apps that have none (marathon-lb's defaults). */
  ipPerTaskPorts: { min: number; max: number };
  /** Replaces the built-in global/defaults section. */
  head?: string;
  /**
   * Who owns each bind in the previously published config: `bindKey(address, port)` → app id.
   * An owner keeps its bind against a newcomer, whatever their ids.
   */
  incumbents?: ReadonlyMap<string, string>;
}

export const defaultRenderOptions: RenderOptions = {
  groups: [],
  httpPort: 80,
  httpBindAddress: "*",
  statsPort: 9090,
  statsBindAddress: "127.0.0.1",
  appIdPort: 9091,
  appIdBindAddress: "*",
  httpsPort: 443,
  httpsBindAddress: "*",
  keepUnreachable: false,
  healthCheck: false,
  ignorePathWithoutVhost: false,
  strictMode: false,
  ipPerTaskPorts: { min: 10050, max: 10100 },
};

/**
 * `render --json`: the model with `"schema": 1` and the same keys in every run (`null` where a
 * value is absent), so scripts can rely on it.
 */
export function modelJson(model: Model) {
  return {
    schema: 1 as const,
    services: model.services.map((s) => ({
      appId: s.appId,
      portIndex: s.portIndex,
      servicePort: s.servicePort,
      name: s.name,
      bindAddress: s.bindAddress,
      bindPort: s.bindPort,
      mode: s.mode,
      balance: s.balance,
      vhosts: s.vhosts,
      paths: s.paths,
      pathsIgnoreCase: s.pathsIgnoreCase,
      backendWeight: s.backendWeight,
      healthCheck: s.healthCheck ? { ...s.healthCheck, port: s.healthCheck.port ?? null } : null,
      blueGreen: s.blueGreen ? { newColour: null, ...s.blueGreen } : null,
      // The realm and user only: the password stays in the config.
      auth: s.auth ? { realm: s.auth.realm, user: s.auth.user } : null,
      redirectToHttps: s.redirectToHttps ?? false,
      hsts: s.hsts ?? false,
      sticky: s.sticky ?? false,
      allowedSources: s.allowedSources ?? null,
      proxyPassPath: s.proxyPassPath ?? null,
      revProxyPath: s.revProxyPath ?? null,
      rootRedirect: s.rootRedirect ?? null,
      sslCert: s.sslCert ?? null,
      bindOptions: s.bindOptions ?? null,
      servers: s.servers.map((server) => ({ ...server, checkPort: server.checkPort ?? null })),
    })),
    excluded: model.excluded,
    dropped: model.dropped,
    warnings: model.warnings,
  };
}
