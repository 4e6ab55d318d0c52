import net from 'node:net';

/** How the stand-in printer behaves towards new connections. */
export type PrinterServerMode = 'record' | 'hang' | 'drop';

/** One connection's bytes, as the printer received them. */
export interface RecordedConnection {
  bytes: Buffer;
  closed: boolean;
}

/** Paper OK: fixed bits 1 and 4 set, no sensor bits. */
export const STATUS_PAPER_OK = 0x12;
/** Paper end: bits 5 and 6 set as well. */
export const STATUS_PAPER_OUT = 0x72;
/** Paper near end: bits 2 and 3 set. */
export const STATUS_PAPER_LOW = 0x1e;

/**
 * A network receipt printer on 127.0.0.1 for tests: records every byte per connection, answers
 * DLE EOT n status queries, and can refuse connections, hang, or drop them.
 */
export class PrinterServer {
  mode: PrinterServerMode = 'record';
  /** The answer to DLE EOT 4. */
  paperStatus = STATUS_PAPER_OK;
  readonly connections: RecordedConnection[] = [];
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server;
  #port = 0;
  #waiters: (() => void)[] = [];

  private constructor() {
    this.#server = this.#createServer();
  }

  /** Starts listening on an ephemeral loopback port. */
  static async start(): Promise<PrinterServer> {
    const printer = new PrinterServer();
    await printer.#listen(0);
    return printer;
  }

  get port(): number {
    return this.#port;
  }

  /** The address as the terminal configures it. */
  get address(): string {
    return `tcp://127.0.0.1:${this.#port}`;
  }

  /** Stops listening (the port then refuses connections, like a printer switched off). */
  async refuse(): Promise<void> {
    await this.#closeListener();
  }

  /** Listens again on the same port after `refuse`. */
  async accept(): Promise<void> {
    this.#server = this.#createServer();
    await this.#listen(this.#port);
  }

  /** Bytes of the finished print jobs: closed connections that carried more than status queries. */
  documents(): Buffer[] {
    return this.connections
      .filter((c) => c.closed && stripStatusQueries(c.bytes).length > 0)
      .map((c) => c.bytes);
  }

  /** Waits until at least `count` print jobs have been received completely. */
  async waitForDocuments(count: number, timeoutMs = 5_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.documents().length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} print jobs, got ${this.documents().length}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.documents();
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await this.#closeListener();
  }

  #createServer(): net.Server {
    return net.createServer((socket) => {
      this.#handle(socket);
    });
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        const address = this.#server.address();
        if (address !== null && typeof address === 'object') this.#port = address.port;
        resolve();
      });
    });
  }

  #closeListener(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => {
        resolve();
      });
    });
  }

  #handle(socket: net.Socket): void {
    this.#sockets.add(socket);
    const record: RecordedConnection = { bytes: Buffer.alloc(0), closed: false };
    this.connections.push(record);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      record.closed = true;
      this.#sockets.delete(socket);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    if (this.mode === 'hang') {
      // Accept, then neither read nor answer: a printer whose firmware has locked up.
      socket.pause();
      return;
    }
    const mode = this.mode;
    socket.on('data', (chunk: Buffer) => {
      record.bytes = Buffer.concat([record.bytes, chunk]);
      if (mode === 'drop') {
        socket.destroy();
        return;
      }
      for (const n of statusQueries(chunk)) {
        socket.write(Buffer.from([n === 4 ? this.paperStatus : STATUS_PAPER_OK]));
      }
    });
  }
}

function statusQueries(chunk: Buffer): number[] {
  const found: number[] = [];
  for (let i = 0; i + 2 < chunk.length; i++) {
    if (chunk[i] === 0x10 && chunk[i + 1] === 0x04) found.push(chunk[i + 2] ?? 0);
  }
  return found;
}

function stripStatusQueries(bytes: Buffer): Buffer {
  const kept: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x10 && bytes[i + 1] === 0x04 && i + 2 < bytes.length) {
      i += 2;
      continue;
    }
    kept.push(bytes[i] ?? 0);
  }
  return Buffer.from(kept);
}
