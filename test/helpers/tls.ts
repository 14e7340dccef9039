import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A private CA and a certificate for 127.0.0.1 it signed, made with openssl in a temporary directory. */
export function makeCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "mhc-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=mhc test CA",
  );
  run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  execFileSync("sh", ["-c", "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"], { cwd: dir });
  run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return { ca: read("ca.pem"), key: read("server.key"), cert: read("server.pem") };
}

/**
 * A self-signed certificate for `host` (key appended, as HAProxy's `crt` reads it) written to
 * `dir/<host>.pem`; returns the PEM certificate.
 */
export function writeHostCertificate(dir: string, host: string): string {
  const file = join(dir, `${host}.pem`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${file}.key`,
      "-out",
      `${file}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
    ],
    { stdio: "ignore" },
  );
  const cert = readFileSync(`${file}.crt`, "utf8");
  writeFileSync(file, cert + readFileSync(`${file}.key`, "utf8"));
  rmSync(`${file}.crt`);
  rmSync(`${file}.key`);
  return cert;
}
