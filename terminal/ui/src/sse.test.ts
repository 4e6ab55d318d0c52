import { describe, expect, it } from 'vitest';
import { createSseParser, decodeCounterEvent } from './sse.ts';

describe('createSseParser', () => {
  it('dispatches an event on a blank line, with its type and data', () => {
    const parser = createSseParser();
    expect(parser.push('event: status\ndata: {"a":1}\n\n')).toEqual([
      { event: 'status', data: '{"a":1}', id: undefined },
    ]);
  });

  it('joins an event split across chunks anywhere, even inside CRLF', () => {
    const parser = createSseParser();
    const text = 'event: scan\r\ndata: {"type":"scan"}\r\n\r\nevent: member\r\ndata: x\r\n\r\n';
    const out = [];
    for (const chunk of text.split('')) out.push(...parser.push(chunk));
    expect(out).toEqual([
      { event: 'scan', data: '{"type":"scan"}', id: undefined },
      { event: 'member', data: 'x', id: undefined },
    ]);
  });

  it('treats a lone CR as a line end and does not eat the next line after CR then LF chunks', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\n\r')).toEqual([{ event: 'message', data: 'a', id: undefined }]);
    expect(parser.push('data: b\r\r')).toEqual([{ event: 'message', data: 'b', id: undefined }]);
  });

  it('joins data lines with LF, strips one leading space only, and skips comments', () => {
    const parser = createSseParser();
    const out = parser.push(': keep-alive\n\ndata:  two spaces\ndata:none\ndata\n\n');
    expect(out).toEqual([{ event: 'message', data: ' two spaces\nnone\n', id: undefined }]);
  });

  it('drops an event without data and resets the type after each dispatch', () => {
    const parser = createSseParser();
    expect(parser.push('event: status\n\ndata: 1\n\n')).toEqual([
      { event: 'message', data: '1', id: undefined },
    ]);
  });

  it('keeps id and retry, ignores unknown fields and a leading BOM', () => {
    const parser = createSseParser();
    const out = parser.push('\uFEFFid: 7\nretry: 2500\nfoo: bar\ndata: x\n\n');
    expect(out).toEqual([{ event: 'message', data: 'x', id: '7' }]);
    expect(parser.retryMs()).toBe(2500);
  });

  it('holds a partial line until its end arrives', () => {
    const parser = createSseParser();
    expect(parser.push('data: {"type":"mem')).toEqual([]);
    expect(parser.push('ber","mobile":"+919812345678"}\n')).toEqual([]);
    const [message] = parser.push('\n');
    expect(message?.data).toBe('{"type":"member","mobile":"+919812345678"}');
  });
});

describe('decodeCounterEvent', () => {
  it('reads the counter events it knows', () => {
    expect(decodeCounterEvent('{"type":"member","mobile":"+919812345678"}')).toEqual({
      type: 'member',
      mobile: '+919812345678',
    });
  });

  it('ignores bad JSON, non-objects and unknown types', () => {
    expect(decodeCounterEvent('{')).toBeUndefined();
    expect(decodeCounterEvent('42')).toBeUndefined();
    expect(decodeCounterEvent('null')).toBeUndefined();
    expect(decodeCounterEvent('{"type":"other"}')).toBeUndefined();
    expect(decodeCounterEvent('{"kind":"status"}')).toBeUndefined();
  });
});
