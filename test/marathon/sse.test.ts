import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventTypeOf } from "../../src/marathon/events.ts";
import { SseEventTooLarge, SseParser } from "../../src/marathon/sse.ts";
import { repoRoot } from "../helpers/cli.ts";

describe("SSE parser", () => {
  it("parses a real Marathon event stream", () => {
    const text = readFileSync(join(repoRoot, "fixtures/events.txt"), "utf8");
    const events = new SseParser().push(text);
    expect(events[0]?.type).toBe("event_stream_attached");
    expect(events.map((e) => e.type)).toContain("status_update_event");
    for (const event of events) expect(JSON.parse(event.data).eventType).toBe(event.type);
  });

  it("gives the same events whatever the chunking, with \\n, \\r\\n and \\r line ends", () => {
    const wire = "event: a\r\ndata: 1\r\n\r\n: keep-alive\n\nevent: b\rdata: x\rdata: y\r\r\ndata:z\n\n";
    const expected = [
      { type: "a", data: "1" },
      { type: "b", data: "x\ny" },
      { type: "message", data: "z" },
    ];
    expect(new SseParser().push(wire)).toEqual(expected);
    for (let size = 1; size <= 5; size++) {
      const parser = new SseParser();
      const got = [];
      for (let i = 0; i < wire.length; i += size) got.push(...parser.push(wire.slice(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual(expected);
    }
  });

  it("keep-alive lines and comments produce no event; an event needs data", () => {
    expect(new SseParser().push("\r\n\r\n: ping\n\nevent: lonely\n\n")).toEqual([]);
  });

  it("takes the type from the JSON eventType when the event: line is missing", () => {
    expect(eventTypeOf({ type: "message", data: '{"eventType":"api_post_event"}' })).toBe("api_post_event");
    expect(eventTypeOf({ type: "message", data: "not json" })).toBe("message");
    expect(eventTypeOf({ type: "deployment_success", data: "{}" })).toBe("deployment_success");
  });

  it("bounds one event: an endless line or endless data lines throw, split across chunks or not", () => {
    const endless = new SseParser(100);
    expect(() => {
      for (let i = 0; i < 20; i++) endless.push("x".repeat(10));
    }).toThrow(SseEventTooLarge);
    const manyLines = new SseParser(100);
    expect(() => manyLines.push("data: 0123456789\n".repeat(10))).toThrow(
      "an event longer than 100 characters",
    );
    const fine = new SseParser(100);
    for (let i = 0; i < 50; i++) expect(fine.push("data: 0123456789\n\n")).toHaveLength(1);
  });

  it("counts complete lines, keep-alives included, as signs of life; a partial line is none", () => {
    const parser = new SseParser();
    parser.push("\r\n: ping\n");
    expect(parser.lines).toBe(2);
    parser.push("data: never ends");
    expect(parser.lines).toBe(2);
  });
});
