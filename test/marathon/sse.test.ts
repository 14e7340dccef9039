import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventTypeOf } from "../../src/marathon/events.ts";
import { SseParser } from "../../src/marathon/sse.ts";
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
});
