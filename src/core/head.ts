/**
 * The built-in global/defaults section (`--head FILE` replaces it). Chosen so that a rendered
 * config starts anywhere (no sockets or folders that must pre-exist) and reloads without piling up
 * old processes.
 */
export const defaultHead = `global
  log /dev/log local0
  # No maxconn: HAProxy derives it from the file-descriptor limit, so the config starts under any ulimit.
  # After a reload, old processes finish their connections but never linger longer than this.
  hard-stop-after 5m
  # In master-worker mode (-W), an old worker still alive after 5 more reloads is terminated.
  mworker-max-reloads 5
  # mhc deploy saves servers' health, weights and maintenance here before each reload; a missing file is only a warning.
  server-state-file /var/lib/haproxy/mhc-server-state

defaults
  log global
  mode tcp
  option dontlognull
  option redispatch
  retries 3
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout http-request 15s
  timeout http-keep-alive 5s
  timeout check 5s
  # An agent hostname that does not resolve leaves that one server down instead of failing the config.
  default-server init-addr last,libc,none
  # Servers start in the state saved before the reload instead of starting over.
  load-server-state-from-file global
`;
