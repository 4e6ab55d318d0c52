import type { CounterEvent } from './types.ts';

/** One server-sent event: its type (`message` when the stream names none) and its data. */
export type SseMessage = { event: string; data: string; id: string | undefined };

/** Turns text chunks of a text/event-stream body into whole events; chunks split anywhere. */
export type SseParser = {
  push(chunk: string): SseMessage[];
  /** The last `retry:` the server asked for, in milliseconds. */
  retryMs(): number | undefined;
};

/**
 * A parser that follows the HTML event-stream rules: lines end in CRLF, LF or CR; `:` starts a
 * comment (keep-alives); `data:` lines join with LF; a blank line dispatches; an event without
 * data is dropped.
 */
export function createSseParser(): SseParser {
  let buffer = '';
  let isStart = true;
  let skipLineFeed = false;
  let eventType = '';
  let data: string[] = [];
  let lastId: string | undefined;
  let retry: number | undefined;

  function takeLine(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (data.length > 0) {
        out.push({
          event: eventType === '' ? 'message' : eventType,
          data: data.join('\n'),
          id: lastId,
        });
      }
      eventType = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
      default:
        break;
    }
  }

  return {
    push(chunk) {
      buffer += chunk;
      if (isStart && buffer.length > 0) {
        if (buffer.startsWith('\uFEFF')) buffer = buffer.slice(1);
        isStart = false;
      }
      const out: SseMessage[] = [];
      for (;;) {
        if (skipLineFeed && buffer.length > 0) {
          if (buffer.startsWith('\n')) buffer = buffer.slice(1);
          skipLineFeed = false;
        }
        const end = buffer.search(/[\r\n]/);
        if (end === -1) break;
        const line = buffer.slice(0, end);
        skipLineFeed = buffer[end] === '\r';
        buffer = buffer.slice(end + 1);
        takeLine(line, out);
      }
      return out;
    },
    retryMs() {
      return retry;
    },
  };
}

const EVENT_TYPES = new Set(['status', 'scan', 'member', 'redeem:sms']);

/** Reads one event's data as a CounterEvent; undefined for anything this screen does not know. */
export function decodeCounterEvent(data: string): CounterEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  const type = value.type;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) return undefined;
  // The counter validates what it sends with the contract's schemas; the type is all we check.
  return value as CounterEvent;
}
