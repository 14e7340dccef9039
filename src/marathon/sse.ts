/** One Server-Sent Event: its `event:` name ("message" when absent) and its joined `data:` lines. */
export interface SseEvent {
  type: string;
  data: string;
}

/** Bound on one event (16 Mi characters): far above any Marathon event with light deployment plans. */
const defaultMaxEventChars = 16 * 2 ** 20;

/** Thrown when one event grows past the parser's bound: a broken or hostile stream. */
export class SseEventTooLarge extends Error {}

/**
 * Incremental text/event-stream parser (the WHATWG rules mhc needs): lines end in \n, \r\n or \r,
 * even when split across chunks; `:` starts a comment (keep-alive); a blank line ends an event;
 * `id:` and `retry:` are ignored: Marathon cannot replay events, and what a reconnect misses the
 * full read after it catches. Memory is bounded: an event (its unfinished line included) longer
 * than `maxEventChars` throws SseEventTooLarge, and each chunk is scanned once, so an endless line
 * costs linear time.
 */
export class SseParser {
  /** Complete lines seen so far (keep-alives and blank lines included): the stream's sign of life. */
  lines = 0;
  private partial: string[] = [];
  private partialChars = 0;
  private type = "";
  private data: string[] = [];
  private dataChars = 0;
  private pendingCr = false;

  constructor(private readonly maxEventChars = defaultMaxEventChars) {}

  push(chunk: string): SseEvent[] {
    let text = chunk;
    // A \r at the end of the previous chunk already ended a line; a \n right after it belongs to it.
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = text.endsWith("\r");
    const events: SseEvent[] = [];
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
      const piece = text.slice(start, match.index);
      const line = this.partial.length > 0 ? this.partial.join("") + piece : piece;
      this.partial = [];
      this.partialChars = 0;
      start = lineEnd.lastIndex;
      this.lines++;
      this.checkSize(line.length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    if (start < text.length) {
      this.partial.push(text.slice(start));
      this.partialChars += text.length - start;
      this.checkSize(this.partialChars);
    }
    return events;
  }

  private checkSize(lineChars: number): void {
    if (this.dataChars + lineChars > this.maxEventChars) {
      throw new SseEventTooLarge(`an event longer than ${this.maxEventChars} characters`);
    }
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      const event =
        this.data.length > 0 ? { type: this.type || "message", data: this.data.join("\n") } : undefined;
      this.type = "";
      this.data = [];
      this.dataChars = 0;
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.type = value;
    else if (field === "data") {
      this.data.push(value);
      this.dataChars += value.length + 1;
    }
    return undefined;
  }
}
