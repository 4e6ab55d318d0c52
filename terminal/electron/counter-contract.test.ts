import { describe, expect, it } from 'vitest';
import { parseReadyLine, serveArguments } from './counter-contract.ts';

const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({ event: 'counter:ready', ...fields });

describe('parseReadyLine', () => {
  it('reads the ready line, extra fields and all', () => {
    expect(
      parseReadyLine(
        line({
          terminalId: 'MUM-01-T1',
          url: 'http://127.0.0.1:7420/',
          uiUrl: 'http://127.0.0.1:7420/#token=abc',
          posApi: 'http://127.0.0.1:7420/pos/v1/openapi.json',
        }),
      ),
    ).toEqual({
      kind: 'ready',
      ready: {
        url: 'http://127.0.0.1:7420/',
        uiUrl: 'http://127.0.0.1:7420/#token=abc',
        origin: 'http://127.0.0.1:7420',
      },
    });
  });

  it('passes over log lines', () => {
    expect(parseReadyLine('{"level":30,"msg":"terminal MUM-01-T1 connecting"}')).toEqual({
      kind: 'other',
    });
    expect(parseReadyLine('Listening…')).toEqual({ kind: 'other' });
    expect(parseReadyLine('counter:ready is coming')).toEqual({ kind: 'other' });
    expect(parseReadyLine('{"event":"counter:ready"}')).toEqual({ kind: 'other' });
  });

  it('refuses an address off this machine, over https, or split across origins', () => {
    expect(
      parseReadyLine(line({ url: 'http://10.0.0.9:7420/', uiUrl: 'http://10.0.0.9:7420/#t' })),
    ).toMatchObject({ kind: 'refused', reason: expect.stringContaining('loopback') });
    expect(
      parseReadyLine(line({ url: 'https://127.0.0.1:7420/', uiUrl: 'https://127.0.0.1:7420/' })),
    ).toMatchObject({ kind: 'refused' });
    expect(
      parseReadyLine(line({ url: 'http://127.0.0.1:7420/', uiUrl: 'http://evil.example/#t' })),
    ).toMatchObject({ kind: 'refused', reason: expect.stringContaining('another origin') });
    expect(parseReadyLine(line({ url: 'nowhere', uiUrl: 'nowhere' }))).toMatchObject({
      kind: 'refused',
    });
  });
});

describe('serveArguments', () => {
  it('passes only what is set', () => {
    expect(serveArguments({})).toEqual(['serve', '--stop-on-stdin-end']);
    expect(
      serveArguments({
        port: 0,
        printer: 'serial:/dev/ttyUSB0?baud=9600',
        printerType: 'star',
        printerWidth: 32,
        scanners: ['serial:COM3', 'hid'],
      }),
    ).toEqual([
      'serve',
      '--stop-on-stdin-end',
      '--port',
      '0',
      '--printer',
      'serial:/dev/ttyUSB0?baud=9600',
      '--printer-type',
      'star',
      '--printer-width',
      '32',
      '--scanner',
      'serial:COM3',
      '--scanner',
      'hid',
    ]);
  });
});
