/** One Server-Sent Event: its `event:` name ("message" when absent) and its joined `data:` lines. */
export interface SseEvent {
  type: string;
  data: string;
}

/**
 * Incremental text/event-stream parser (the WHATWG rules mhc needs): lines end in \n, \r\n or \r,
 * even when split across chunks; `:` starts a comment (keep-alive); a blank line ends an event;
 * `id:` and `retry:` are ignored because every event only means "re-read Marathon".
 */
export class SseParser {
  private buffer = "";
  private type = "";
  private data: string[] = [];
  private pendingCr = false;

  push(chunk: string): SseEvent[] {
    let text = chunk;
    // A \r at the end of the previous chunk already ended a line; a \n right after it belongs to it.
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = text.endsWith("\r");
    const lines = (this.buffer + text).split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? "";
    const events: SseEvent[] = [];
    for (const line of lines) {
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      const event =
        this.data.length > 0 ? { type: this.type || "message", data: this.data.join("\n") } : undefined;
      this.type = "";
      this.data = [];
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
