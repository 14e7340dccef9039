/** Builders for mhc's own models (normalised and published), with only what a test needs. */
import type { Dropped, ExcludedTask, Model, Service } from "../../src/core/model.ts";
import { emptyModel, type PublishedModel, type PublishedService } from "../../src/core/published.ts";

/** `n` hosts: 10.0.0.1, 10.0.0.2, … (`prefix` sets the first three octets). */
export const hosts = (n: number, prefix = "10.0.0") =>
  Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}`);

/** A normalised TCP service (what render reads): `appId` bound on `port`, a server on :31000 of each host. */
export function service(
  appId: string,
  port: number,
  serverHosts: string[] = [],
  extra: Partial<Service> = {},
): Service {
  return {
    appId,
    portIndex: 0,
    servicePort: port,
    name: `${appId.slice(1).replace(/\//g, "_")}_${port}`,
    bindAddress: "*",
    bindPort: port,
    mode: "tcp",
    balance: "roundrobin",
    vhosts: [],
    paths: [],
    pathsIgnoreCase: false,
    backendWeight: 0,
    servers: serverHosts.map((host, i) => ({
      name: `${host}_31000`,
      host,
      port: 31000,
      taskId: `t${i + 1}`,
      draining: false,
    })),
    ...extra,
  };
}

export const modelOf = (...services: Service[]): Model => ({
  services,
  excluded: [],
  dropped: [],
  warnings: [],
});

/** The same service as a published model holds it (what summaries and gates read). */
export function publishedService(
  appId: string,
  port: number,
  serverHosts: string[] = [],
  extra: Partial<PublishedService> = {},
): PublishedService {
  const { servers: _, pathsIgnoreCase: __, ...settings } = service(appId, port);
  return {
    ...settings,
    servers: serverHosts.map((host) => ({ name: `${host}_31000`, host, port: 31000 })),
    ...extra,
  };
}

export const publishedModel = (
  services: PublishedService[],
  dropped: Dropped[] = [],
  excluded: ExcludedTask[] = [],
): PublishedModel => ({ ...emptyModel, services, dropped, excluded });
