import { errorMessage } from "../errors.ts";
import type { ServerChange, ServerLine } from "./server-changes.ts";
import { socketCommand } from "./socket.ts";

/**
 * HAProxy's Runtime API on a master CLI (commands go to the current worker with `@1`) or on a
 * `stats socket … level admin` of the worker itself.
 */
export interface RuntimeApi {
  socket: string;
  /** One command; HAProxy's answer, trimmed. Throws when the socket does not answer. */
  run(command: string): Promise<string>;
}

/** Connects to `socket`, telling a master CLI (it answers `show proc`) from a worker's stats socket. */
export async function openRuntimeApi(socket: string): Promise<RuntimeApi> {
  const ask = async (command: string) => (await socketCommand(socket, command)).trim();
  const master = /^#<PID>\s+<type>/m.test(await ask("show proc"));
  return { socket, run: (command) => ask(master ? `@1 ${command}` : command) };
}

class RuntimeApiError extends Error {}

/** A server's runtime state, from `show servers state` (format 1). */
export interface RuntimeServer {
  name: string;
  addr: string;
  port: number;
  /** srv_uweight: the weight set by config or at runtime. */
  weight: number;
  /** srv_admin_state bits: 0x01 forced maint, 0x08 drain, 0x20 maint from the config. */
  adminState: number;
}

const maintBits = 0x01 | 0x02 | 0x04 | 0x20;
const drainBit = 0x08;

/** `show servers state BACKEND` parsed by its header line, or a RuntimeApiError with HAProxy's words. */
export async function serversState(api: RuntimeApi, backend: string): Promise<Map<string, RuntimeServer>> {
  const text = await api.run(`show servers state ${backend}`);
  const lines = text.split("\n");
  const header = lines.find((l) => l.startsWith("# be_id"));
  if (!header) throw new RuntimeApiError(`show servers state ${backend}: ${firstLine(text)}`);
  const columns = header.slice(2).split(" ");
  const at = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? "";
  const servers = new Map<string, RuntimeServer>();
  for (const line of lines) {
    if (line.startsWith("#") || !/^\d+ /.test(line)) continue;
    const fields = line.split(" ");
    servers.set(at(fields, "srv_name"), {
      name: at(fields, "srv_name"),
      addr: at(fields, "srv_addr"),
      port: Number(at(fields, "srv_port")),
      weight: Number(at(fields, "srv_uweight")),
      adminState: Number(at(fields, "srv_admin_state")),
    });
  }
  return servers;
}

const firstLine = (text: string) => text.split("\n")[0] || "no answer";

/** Runs a command whose success HAProxy confirms with `expected` (empty: with no output at all). */
async function expect(api: RuntimeApi, command: string, expected: RegExp | ""): Promise<void> {
  let answer: string;
  try {
    answer = await api.run(command);
  } catch (error) {
    throw new RuntimeApiError(`${command}: ${errorMessage(error)}`);
  }
  const ok = expected === "" ? answer === "" : expected.test(answer);
  if (!ok) throw new RuntimeApiError(`${command}: ${firstLine(answer)}`);
}

const id = (server: ServerLine) => `${server.backend}/${server.name}`;
const address = (server: ServerLine) =>
  server.host.includes(":") ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;

/**
 * Applies additions, moves, weights and states at once, and puts removed servers into drain, which
 * stops new connections to them; `removeDrained` deletes them later.
 */
export async function applyServerChanges(api: RuntimeApi, changes: ServerChange[]): Promise<void> {
  for (const { kind, server } of changes) {
    const target = id(server);
    if (kind === "add") {
      const options = [...server.options, "weight", String(server.weight)];
      await expect(
        api,
        `add server ${target} ${address(server)} ${options.join(" ")}`,
        /New server registered/,
      );
      // Dynamic servers start in maintenance with their checks off.
      if (server.options.includes("check")) await expect(api, `enable health ${target}`, "");
      if (server.options.includes("agent-check")) await expect(api, `enable agent ${target}`, "");
      if (!server.disabled) await expect(api, `set server ${target} state ready`, "");
    } else if (kind === "remove") {
      await expect(api, `set server ${target} state drain`, "");
    } else if (kind === "move") {
      const host = server.host;
      await expect(
        api,
        `set server ${target} addr ${host} port ${server.port}`,
        /changed from|no need to change/,
      );
    } else if (kind === "weight") {
      await expect(api, `set server ${target} weight ${server.weight}`, "");
    } else {
      await expect(api, `set server ${target} state ${server.disabled ? "maint" : "ready"}`, "");
    }
  }
}

/** Sessions (current and queued) per server of a backend, from `show stat`. */
async function sessions(api: RuntimeApi, backend: string): Promise<Map<string, number>> {
  const text = await api.run(`show stat ${backend} 4 -1`);
  const [header, ...rows] = text.split("\n");
  if (!header?.startsWith("# pxname")) throw new RuntimeApiError(`show stat ${backend}: ${firstLine(text)}`);
  const columns = header.slice(2).split(",");
  const [name, scur, qcur] = ["svname", "scur", "qcur"].map((c) => columns.indexOf(c)) as [
    number,
    number,
    number,
  ];
  const counts = new Map<string, number>();
  for (const row of rows) {
    const fields = row.split(",");
    if (fields.length > scur)
      counts.set(fields[name] ?? "", Number(fields[scur]) + Number(fields[qcur] || 0));
  }
  return counts;
}

/**
 * Deletes drained servers once their sessions ended, or, after `timeoutMs`, cuts the sessions left
 * and deletes them then. Returns how many had sessions cut.
 */
export async function removeDrained(
  api: RuntimeApi,
  servers: ServerLine[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let left = servers;
  let cut = 0;
  for (;;) {
    const remaining: ServerLine[] = [];
    const expired = Date.now() >= deadline;
    for (const backend of new Set(left.map((s) => s.backend))) {
      const counts = await sessions(api, backend);
      for (const server of left.filter((s) => s.backend === backend)) {
        const open = counts.get(server.name) ?? 0;
        if (open > 0 && !expired) {
          remaining.push(server);
          continue;
        }
        if (open > 0) {
          await expect(api, `shutdown sessions server ${id(server)}`, "");
          cut++;
        }
        await expect(api, `set server ${id(server)} state maint`, "");
        // A connection can still be closing: HAProxy refuses the delete until it is gone.
        const answer = await api.run(`del server ${id(server)}`);
        if (!/Server deleted/.test(answer)) {
          if (expired && Date.now() >= deadline + 5_000) {
            throw new RuntimeApiError(`del server ${id(server)}: ${firstLine(answer)}`);
          }
          remaining.push(server);
        }
      }
    }
    if (remaining.length === 0) return cut;
    left = remaining;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Compares the runtime servers of each changed backend with the candidate's server lines; returns
 * the first difference, or undefined when they agree.
 */
export async function runtimeMismatch(
  api: RuntimeApi,
  backends: Map<string, ServerLine[]>,
): Promise<string | undefined> {
  for (const [backend, wanted] of backends) {
    const running = await serversState(api, backend);
    for (const server of wanted) {
      const actual = running.get(server.name);
      const name = id(server);
      if (!actual) return `${name} is missing`;
      if (actual.addr !== server.host || actual.port !== server.port) {
        return `${name} is at ${actual.addr}:${actual.port}, the file says ${address(server)}`;
      }
      if (actual.weight !== server.weight)
        return `${name} has weight ${actual.weight}, the file says ${server.weight}`;
      const maint = (actual.adminState & maintBits) !== 0;
      if (maint !== server.disabled || (actual.adminState & drainBit) !== 0) {
        return `${name} has admin state ${actual.adminState}, the file says ${server.disabled ? "disabled" : "ready"}`;
      }
    }
    const extra = [...running.keys()].find((name) => !wanted.some((s) => s.name === name));
    if (extra) return `${backend}/${extra} is running but not in the file`;
  }
  return undefined;
}
