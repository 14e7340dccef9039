import { describe, expect, it, vi } from "vitest";
import { parseSnapshot, type Snapshot } from "../../src/core/snapshot.ts";
import { ExitCode, MhcError } from "../../src/errors.ts";
import { SnapshotStreamParser } from "../../src/marathon/snapshot-stream.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";

const origin = "Marathon at http://m";

/** The body fed in chunks cut at `cuts` (byte offsets); the snapshot or the MhcError it gave. */
function streamed(bytes: Uint8Array, cuts: number[]): Snapshot | MhcError {
  const parser = new SnapshotStreamParser(origin);
  try {
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      parser.write(bytes.subarray(from, cut));
      from = cut;
    }
    return parser.end();
  } catch (error) {
    if (error instanceof MhcError) return error;
    throw error;
  }
}

function whole(text: string): Snapshot | MhcError {
  try {
    return parseSnapshot(text, origin);
  } catch (error) {
    if (error instanceof MhcError) return error;
    throw error;
  }
}

/** What a test compares: snapshots as they are, errors by exit code and kind (JSON.parse words its hints by position). */
const outcome = (result: Snapshot | MhcError) =>
  result instanceof MhcError
    ? {
        exitCode: result.exitCode,
        message: result.message.includes("not valid JSON") ? "not valid JSON" : result.message,
      }
    : result;

/** Every way of cutting the body in two, plus byte by byte, gives what parseSnapshot gives on the whole text. */
function expectSameAsWhole(text: string): void {
  const bytes = new TextEncoder().encode(text);
  const expected = outcome(whole(text));
  const cuttings = [[], Array.from({ length: bytes.length }, (_, i) => i + 1)];
  for (let cut = 1; cut < bytes.length; cut++) cuttings.push([cut]);
  for (const cuts of cuttings)
    expect(outcome(streamed(bytes, cuts)), `cut at ${cuts.join(",")}`).toEqual(expected);
}

const web = hostApp(
  "/web",
  [10000],
  [task({ id: "web.1", ports: [31000] }), task({ id: "web.2", ports: [31001] })],
);

describe("a Marathon body parsed as it arrives", () => {
  it.each([
    ["no apps", `{"apps":[]}`],
    [
      "a real /v2/apps?embed=apps.tasks answer",
      JSON.stringify(snapshotOf(web, hostApp("/api", [10001], []))),
    ],
    [
      "whitespace everywhere",
      ` \n{ "apps" : [ \t{"id":"/a", "tasks" : [ ] } ,\r\n {"id":"/b"} ] , "x" : 1 }\n`,
    ],
    [
      "escapes and brackets in strings",
      `{"apps":[{"id":"/a\\"},{\\\\","labels":{"x":"]}\\\\\\"[{","y":"\\u0022}"}}]}`,
    ],
    ["text in many bytes per character", `{"apps":[{"id":"/é","labels":{"k":"日本 🚀","k2":"ü"}}]}`],
    ["an escaped key", `{"app\\u0073":[{"id":"/a"}]}`],
    ["the last of two apps keys wins", `{"apps":[{"id":"/a"}],"apps":[{"id":"/b"},{"id":"/c"}]}`],
    ["apps that is not a list", `{"apps":{"id":"/a"}}`],
    ["apps then a number", `{"apps":[{"id":"/a"}],"apps":5}`],
    ["entries that are not apps", `{"apps":[1,"x,]",null,true,[{"id":"/n"}],{"id":"/a"}]}`],
    ["no entry with an id", `{"apps":[1,2]}`],
    [
      "apps nested in groups",
      `{"id":"/","groups":[{"id":"/g","apps":[{"id":"/g/a"}],"groups":[]}],"apps":[{"id":"/b"}]}`,
    ],
    [
      "the /v2/tasks shape",
      `{"tasks":[{"appId":"/a","id":"t1","host":"h","ports":[1],"servicePorts":[80]}]}`,
    ],
    ["one app", `{"app":{"id":"/a","tasks":[]}}`],
    ["an app without its wrapper", `{"id":"/a","instances":1}`],
    ["apps deeper than the top level", `{"x":{"apps":[{"id":"/a"}]}}`],
  ])("%s: as parsed whole", (_, text) => expectSameAsWhole(text));

  it.each([
    ["empty", ""],
    ["only whitespace", " \n "],
    ["a list", `[{"id":"/a"}]`],
    ["a byte-order mark first", `\ufeff{"apps":[]}`],
    ["HTML", "<html><title>Login</title></html>"],
    ["two entries without a comma", `{"apps":[{"id":"/a"}{"id":"/b"}]}`],
    ["eleven entries, two without a comma", `{"apps":[${'{"id":"/a"},'.repeat(10)}{"id":"/b"}{"id":"/c"}]}`],
    ["a trailing comma in the list", `{"apps":[{"id":"/a"},]}`],
    ["a trailing comma in an app", `{"apps":[{"id":"/a",}]}`],
    ["a bad literal", `{"apps":[tru,{"id":"/a"}]}`],
    ["a leading zero", `{"apps":[01,{"id":"/a"}]}`],
    ["a bad escape in a key", `{"app\\x":[{"id":"/a"}]}`],
    ["no colon", `{"apps" [{"id":"/a"}]}`],
    ["a bracket too many", `{"apps":[{"id":"/a"}]]}`],
    ["a bracket too few", `{"apps":[{"id":"/a"}}`],
    ["text after the object", `{"apps":[{"id":"/a"}]} x`],
    ["a second object", `{"apps":[{"id":"/a"}]}{"apps":[]}`],
  ])("%s: the same error as parsed whole", (_, text) => {
    expect(whole(text)).toBeInstanceOf(MhcError);
    expectSameAsWhole(text);
  });

  it("a body cut off anywhere is a one-line data error saying it may be truncated", () => {
    const text = JSON.stringify(snapshotOf(web, hostApp("/api", [10001], [task({ ports: [31002] })])));
    for (let end = 0; end < text.length; end++) {
      const result = streamed(new TextEncoder().encode(text.slice(0, end)), []);
      expect(result, `cut at ${end}`).toBeInstanceOf(MhcError);
      const { message, exitCode } = result as MhcError;
      expect(exitCode).toBe(ExitCode.marathonData);
      expect(message).toMatch(/^Marathon at http:\/\/m: not valid JSON \(.+\); is the response truncated\?$/);
    }
  });

  it.each([
    [
      "an app holding objects with absolute ids",
      `{"apps":[{"id":"/a","x":[{"id":"/n"},{"id":"/m"}]},{"id":"/b"}]}`,
    ],
    [
      "apps written with spaces, not split at their starts",
      `{"apps":[{"id":"/a"}, {"id":"/b"},{ "id":"/c"}]}`,
    ],
    ["a garbled app between two good ones", `{"apps":[{"id":"/a"},{"id":"/b",,},{"id":"/c"}]}`],
    ["apps ending in a scalar", `{"apps":[{"id":"/a"},{"id":"/b"},1]}`],
  ])("split at the start of each app: %s, as parsed whole", (_, text) => expectSameAsWhole(text));

  it("an app holding many objects with absolute ids is read byte by byte, and so is the rest", () => {
    const nested = Array.from({ length: 40 }, (_, i) => ({ id: `/n${i}` }));
    const text = JSON.stringify({
      apps: [{ id: "/a" }, { id: "/b", x: nested }, { id: "/c" }, { id: "/d" }],
    });
    const parser = new SnapshotStreamParser(origin);
    const parses = vi.spyOn(JSON, "parse");
    try {
      parser.write(new TextEncoder().encode(text));
      expect(parser.end()).toEqual(whole(text));
      // Each match inside /b costs a parse of /b so far; after 16 the rest is read byte by byte.
      expect(parses.mock.calls.length).toBeLessThan(30);
    } finally {
      parses.mockRestore();
    }
  });

  it("an app of more than a MiB is read byte by byte, and so is the rest", () => {
    const big = { id: "/big", labels: { pad: "x".repeat(1.5 * 2 ** 20) } };
    const text = JSON.stringify({ apps: [{ id: "/a" }, big, { id: "/b" }, { id: "/c" }] });
    const bytes = new TextEncoder().encode(text);
    const expected = whole(text);
    for (const cuts of [
      [],
      [10, 2 ** 20, 2 ** 20 + 3, bytes.length - 20],
      Array.from({ length: 30 }, (_, i) => (i + 1) * 65_536),
    ])
      expect(streamed(bytes, cuts)).toEqual(expected);
  });

  it("a garbled app fails while the body arrives, at most a MiB after it", () => {
    const parser = new SnapshotStreamParser(origin);
    parser.write(new TextEncoder().encode(`{"apps":[{"id":"/a",,},`));
    const good = new TextEncoder().encode(`{"id":"/b","labels":{"pad":"${"x".repeat(1_000)}"}},`);
    expect(() => {
      for (let i = 0; i < 1_100; i++) parser.write(good);
    }).toThrow(/^Marathon at http:\/\/m: not valid JSON \(.+\); is the response truncated\?$/);
  });

  it("keeps a body that is not a JSON object as text, for the caller to name", () => {
    const parser = new SnapshotStreamParser(origin);
    parser.write(new TextEncoder().encode("<html><title>Login</title>"));
    expect(parser.unparsedText()).toBe("<html><title>Login</title>");
    const object = new SnapshotStreamParser(origin);
    object.write(new TextEncoder().encode(`{"apps":[]}`));
    expect(object.unparsedText()).toBeUndefined();
  });
});
