/** One dispatched Server-Sent Event (WHATWG HTML §9.2.6). */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  /** A `retry:` field seen in this block (the server's reconnection delay), if any. */
  retry: number | undefined;
}

/**
 * Incremental SSE parser: feed it text as it arrives (any chunking, CRLF,
 * CR or LF line ends), get whole events back. Comments (`: keep-alive`) are
 * dropped; a block with no data sets only `retry`/`id`.
 */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | undefined;
  #retry: number | undefined;
  #hasData = false;
  /** The last `retry:` the server sent, kept across events. */
  retry: number | undefined;

  push(text: string): SseMessage[] {
    this.#buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) break;
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const message = this.#line(line);
      if (message) out.push(message);
    }
    return out;
  }

  #line(line: string): SseMessage | null {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#data.push(value);
      this.#hasData = true;
    } else if (field === 'event') this.#event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.#id = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.#retry = Number(value);
      this.retry = this.#retry;
    }
    return null;
  }

  #dispatch(): SseMessage | null {
    const message: SseMessage | null = this.#hasData ? { id: this.#id, event: this.#event || 'message', data: this.#data.join('\n'), retry: this.#retry } : null;
    this.#data = [];
    this.#event = '';
    this.#hasData = false;
    this.#retry = undefined;
    return message;
  }
}
