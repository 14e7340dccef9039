import { parseJson, parseSnapshot, type Snapshot, snapshotFromJson } from "../core/snapshot.ts";

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const openBrace = 0x7b;
const openBracket = 0x5b;
const closeBrace = 0x7d;
const closeBracket = 0x5d;
const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
/**
 * Where one app ends and the next begins in Marathon's compact JSON (apps have absolute ids, tasks
 * and the rest do not): found by a byte search, not byte by byte in JavaScript.
 */
const nextApp = Buffer.from('},{"id":"/');
/** Bytes of one app held while looking for `nextApp`: past this, the apps are read byte by byte. */
const appBytesAtMost = 1 << 20;
/** Matches inside one app (each costs a parse of the app so far): past this, the apps are read byte by byte. */
const missesAtMost = 16;
/** `"apps"`, as a key of the top-level object is written when nothing in it is escaped. */
const appsKey = [quote, 0x61, 0x70, 0x70, 0x73, quote];

function isAppsKey(token: Uint8Array): boolean {
  if (token.length === appsKey.length && appsKey.every((byte, i) => token[i] === byte)) return true;
  if (!token.includes(backslash)) return false;
  // `"app\u0073"` is the same key; a bad escape fails when the frame is parsed.
  try {
    return JSON.parse(new TextDecoder().decode(token)) === "apps";
  } catch {
    return false;
  }
}

/**
 * Marathon's JSON, parsed while it arrives: each entry of the top-level object's `"apps"` array is
 * parsed on its own as soon as it ends, so a 70 MB snapshot is never held whole, as bytes or as
 * text, beside the objects parsed from it. The rest of the body (the frame around the entries; all
 * of a `/v2/groups` or `/v2/tasks` answer) is kept as text with each entry replaced by its index,
 * and parsed at the end. A body that is not a JSON object is kept whole as text.
 * Snapshots and errors are those of `parseSnapshot` on the whole text: one-line MhcErrors saying
 * "not valid JSON" for a garbled or truncated body.
 */
export class SnapshotStreamParser {
  /** "start" until the first byte that is not whitespace: `{` streams, anything else is kept whole. */
  private mode: "start" | "object" | "whole" = "start";
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The whole text ("whole"), or the frame with indexes for entries ("object"). */
  private text = "";
  private depth = 0;
  private inString = false;
  /** The chunk ended with a backslash in a string: the next chunk starts with the escaped byte. */
  private escaping = false;
  /** The bytes of a string being read in the top-level object (a key, perhaps "apps"). */
  private key: Uint8Array[] | undefined;
  /** 1 after the key "apps" in the top-level object, 2 after its colon: a `[` opens the entries. */
  private afterAppsKey: 0 | 1 | 2 = 0;
  /** In the `"apps"` array, between entries. */
  private inApps = false;
  /** The bytes of the entry being read, and whether it is a scalar (it ends at `,` or `]`). */
  private entry: Uint8Array[] | undefined;
  private scalarEntry = false;
  private readonly entries: unknown[] = [];
  /** Entries are being split at `nextApp`. */
  private splitting = false;
  /** While splitting: the start of the current entry, from earlier chunks (searched already). */
  private held: Buffer | undefined;
  /** Splitting at `nextApp` found no end within `appBytesAtMost`: the rest is read byte by byte. */
  private splitGaveUp = false;
  /** Matches of `nextApp` inside the current app. */
  private misses = 0;
  private readonly entryDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(private readonly origin: string) {}

  /** The next bytes of the body. Throws the MhcError of an entry that is not valid JSON. */
  write(chunk: Uint8Array): void {
    if (this.mode === "start") {
      let first = 0;
      while (first < chunk.length && isSpace(chunk[first] as number)) first++;
      if (first === chunk.length) {
        this.text += this.decoder.decode(chunk, { stream: true });
        return;
      }
      this.mode = chunk[first] === openBrace ? "object" : "whole";
    }
    if (this.mode === "whole") this.text += this.decoder.decode(chunk, { stream: true });
    else if (this.splitting) this.splitApps(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), 0);
    else this.scan(chunk);
  }

  /** The body as text when it is not a JSON object (kept whole); undefined for an object. */
  unparsedText(): string | undefined {
    if (this.mode === "object") return undefined;
    this.text += this.decoder.decode();
    return this.text;
  }

  /** The snapshot, once the body has ended. */
  end(): Snapshot {
    if (this.mode !== "object") return parseSnapshot(this.text + this.decoder.decode(), this.origin);
    // The last app, and whatever follows it, are read byte by byte.
    if (this.splitting) this.readByByte(this.held ?? Buffer.alloc(0));
    // An entry cut off by the end of the body fails here, or (a scalar) leaves the frame open.
    if (this.entry) this.endEntry(new Uint8Array(0));
    const data = parseJson(this.text + this.decoder.decode(), this.origin) as Record<string, unknown>;
    // Every entry of a top-level "apps" array was replaced by its index (the last such key wins, as in JSON.parse).
    if (Array.isArray(data.apps)) data.apps = data.apps.map((index: number) => this.entries[index]);
    return snapshotFromJson(data, this.origin);
  }

  /**
   * Splits entries at each `nextApp` that ends a whole app: an app that parses from the start of the
   * entry to the `}` of a match is complete (JSON.parse takes exactly one value), and the match
   * starts the next. A match inside an app fails to parse and the search goes on. `start` is where
   * the current entry begins in `chunk`, unless it began in an earlier chunk (`held`).
   */
  private splitApps(chunk: Buffer, start: number): void {
    let held = this.held;
    let at = start;
    if (held) {
      // A match that starts among the last bytes held and ends in this chunk.
      const tail = held.subarray(Math.max(0, held.length - nextApp.length + 1));
      const across = Buffer.concat([tail, chunk.subarray(0, nextApp.length - 1)]).indexOf(nextApp);
      if (across !== -1 && across < tail.length) {
        const end = held.length - tail.length + across;
        if (this.parsedApp(held.subarray(0, end + 1))) {
          this.misses = 0;
          // The next app may start among the bytes held, too.
          const next = end + 2 - held.length;
          held = next < 0 ? held.subarray(end + 2) : undefined;
          start = Math.max(next, 0);
          at = start;
        } else this.misses++;
      }
    }
    for (let end = chunk.indexOf(nextApp, at); end !== -1; end = chunk.indexOf(nextApp, at)) {
      at = end + 1;
      const app = chunk.subarray(start, end + 1);
      if (!this.parsedApp(held ? Buffer.concat([held, app]) : app)) {
        if (++this.misses > missesAtMost) break;
        continue;
      }
      this.misses = 0;
      held = undefined;
      start = end + 2;
      at = start;
    }
    const rest = held ? Buffer.concat([held, chunk]) : chunk.subarray(start);
    this.held = rest;
    this.splitting = true;
    if (rest.length > appBytesAtMost || this.misses > missesAtMost) this.readByByte(rest);
  }

  /** The entry `bytes` as an app, when it parses; false when not (the search for its end goes on). */
  private parsedApp(bytes: Uint8Array): boolean {
    let app: unknown;
    try {
      app = JSON.parse(this.entryDecoder.decode(bytes));
    } catch {
      return false;
    }
    this.text += ` ${this.entries.length},`;
    this.entries.push(app);
    return true;
  }

  /** Reads the rest of the entries byte by byte, from the start of one. */
  private readByByte(rest: Uint8Array): void {
    this.splitting = false;
    this.held = undefined;
    this.splitGaveUp = true;
    this.scan(rest);
  }

  private endEntry(last: Uint8Array): void {
    const parts = this.entry as Uint8Array[];
    parts.push(last);
    this.entry = undefined;
    this.entries.push(
      parseJson(
        this.entryDecoder.decode(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)),
        this.origin,
      ),
    );
  }

  /**
   * Reads through a string or a nested value, tracking only strings and depth (most of the body):
   * stops after the byte that ends a string or closes a value at depth `floor` or less.
   * Returns where it stopped (the chunk's length when the chunk ended first).
   */
  private skip(chunk: Uint8Array, from: number, floor: number): number {
    const n = chunk.length;
    let i = from;
    let depth = this.depth;
    let inString = this.inString;
    if (this.escaping) {
      this.escaping = false;
      i++;
    }
    while (i < n) {
      const byte = chunk[i++];
      if (inString) {
        if (byte === backslash) i++;
        else if (byte === quote) {
          inString = false;
          if (depth <= floor) break;
        }
      } else if (byte === quote) inString = true;
      else if (byte === openBrace || byte === openBracket) depth++;
      else if (byte === closeBrace || byte === closeBracket) {
        depth--;
        if (depth <= floor) break;
      }
    }
    this.depth = depth;
    this.inString = inString;
    if (i > n) this.escaping = true;
    return Math.min(i, n);
  }

  private scan(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    /** Where the bytes not yet given to the frame or the entry begin in this chunk. */
    let from = 0;
    let keyFrom = 0;
    while (i < n) {
      const floor = this.inApps ? 2 : 1;
      if (this.inString || this.escaping || this.depth > floor) {
        i = this.skip(chunk, i, floor);
        if (this.inString || this.depth > floor) break;
        if (this.key) {
          this.key.push(chunk.subarray(keyFrom, i));
          this.afterAppsKey = isAppsKey(Buffer.concat(this.key)) ? 1 : 0;
          this.key = undefined;
        } else if (this.entry && !this.scalarEntry && this.depth === 2) {
          this.endEntry(chunk.subarray(from, i));
          from = i;
        }
        continue;
      }
      const byte = chunk[i] as number;
      if (isSpace(byte)) {
        i++;
        continue;
      }
      if (this.entry) {
        if (this.depth === 2 && (byte === comma || byte === closeBracket)) {
          this.endEntry(chunk.subarray(from, i));
          from = i;
        }
      } else if (this.inApps && this.depth === 2 && byte !== comma && byte !== closeBracket) {
        this.text += this.decoder.decode(chunk.subarray(from, i), { stream: true });
        if (byte === openBrace && !this.splitGaveUp) {
          this.splitApps(Buffer.from(chunk.buffer, chunk.byteOffset, n), i);
          return;
        }
        // The space keeps two entries written without a comma between them apart: ` 1 2` does not parse.
        this.text += ` ${this.entries.length}`;
        this.entry = [];
        this.scalarEntry = byte !== openBrace && byte !== openBracket;
        from = i;
      }
      if (this.depth === 1) {
        if (byte === quote) {
          this.key = [];
          keyFrom = i;
        } else if (byte === colon && this.afterAppsKey === 1) {
          this.afterAppsKey = 2;
          i++;
          continue;
        } else if (byte === openBracket && this.afterAppsKey === 2) {
          this.inApps = true;
        }
        this.afterAppsKey = 0;
      }
      i++;
      if (byte === quote) this.inString = true;
      else if (byte === openBrace || byte === openBracket) this.depth++;
      else if (byte === closeBrace || byte === closeBracket) {
        this.depth--;
        if (this.inApps && this.depth === 1) this.inApps = false;
      }
    }
    this.key?.push(chunk.subarray(keyFrom, n));
    const rest = chunk.subarray(from, n);
    if (this.entry) this.entry.push(rest);
    else this.text += this.decoder.decode(rest, { stream: true });
  }
}
