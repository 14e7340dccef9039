import { ExitCode, MhcError } from "../errors.ts";
import { addSecret } from "../log.ts";

export interface MarathonEndpoint {
  /** Base URL without credentials, safe to print (e.g. in commit trailers). */
  url: string;
  /** Authorization header value, if any. Registered as a secret: never printed. */
  authorization?: string;
}

export interface Credentials {
  /** `user:password` for HTTP basic auth. */
  basic?: string;
  /** DC/OS token, sent as `Authorization: token=…`. */
  token?: string;
}

function basicHeader(userPass: string): string {
  addSecret(userPass);
  addSecret(userPass.slice(userPass.indexOf(":") + 1));
  const header = `Basic ${btoa(userPass)}`;
  addSecret(header);
  return header;
}

function authorizationFor(credentials: Credentials): string | undefined {
  if (credentials.token) {
    addSecret(credentials.token);
    return `token=${credentials.token}`;
  }
  return credentials.basic ? basicHeader(credentials.basic) : undefined;
}

/**
 * `host:port` means http://host:port. Credentials in the URL (`user:pass@`) become a header and
 * are removed from the URL (Node's fetch refuses them, and URLs get printed).
 */
export function parseEndpoint(address: string, credentials: Credentials): MarathonEndpoint {
  const text = address.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new MhcError(`invalid Marathon address "${text.replace(/\/\/[^@/]*@/, "//***@")}"`, ExitCode.usage);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new MhcError(`Marathon address must be http or https, not ${url.protocol}`, ExitCode.usage);
  }
  let authorization = authorizationFor(credentials);
  if (url.username || url.password) {
    const userPass = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    if (!credentials.token) authorization = basicHeader(userPass);
    url.username = "";
    url.password = "";
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  return authorization ? { url: base, authorization } : { url: base };
}
