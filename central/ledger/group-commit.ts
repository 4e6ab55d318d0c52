/**
 * Collects commands that arrive while batches are being written and writes them together in the
 * next transaction: one commit (one fsync) serves many callers. No timer: a lone command is
 * written in the same turn of the event loop, and batches grow only as fast as commits are slow.
 * Up to `maxInFlight` batches run at once when at least `parallelFrom` commands wait, so under a
 * rush one batch's reads overlap another's commit; the database's row locks order batches that
 * touch the same rows.
 */
export class GroupCommitter<C, R> {
  private readonly queue: { command: C; resolve: (r: R) => void; reject: (e: unknown) => void }[] =
    [];
  private inFlight = 0;
  private scheduled = false;
  private readonly runBatch: (commands: C[]) => Promise<(R | Error)[]>;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly parallelFrom: number;
  private readonly onBatch: ((size: number, ms: number) => void) | undefined;

  constructor(options: {
    runBatch: (commands: C[]) => Promise<(R | Error)[]>;
    maxBatch: number;
    maxInFlight?: number;
    /**
     * Commands that must be waiting before a batch starts beside one already running: under a
     * light load the next batch waits and grows instead, since concurrent batches queue for
     * the same locks and slow each other down (1: start whenever maxInFlight allows).
     */
    parallelFrom?: number;
    onBatch?: (size: number, ms: number) => void;
  }) {
    this.runBatch = options.runBatch;
    this.maxBatch = options.maxBatch;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.parallelFrom = options.parallelFrom ?? 1;
    this.onBatch = options.onBatch;
  }

  /** Number of commands waiting for the next batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with the command's result once its batch has committed. */
  submit(command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (!this.mayStart() || this.scheduled) return;
    // Start after the event loop has read every request already waiting: a synchronous
    // database (SQLite) never yields mid-batch, so starting at once would write batches of one.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (this.mayStart()) this.startBatch();
  }

  private mayStart(): boolean {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return false;
    return this.inFlight === 0 || this.queue.length >= this.parallelFrom;
  }

  private startBatch(): void {
    this.inFlight += 1;
    const batch = this.queue.splice(0, this.maxBatch);
    const started = performance.now();
    this.runBatch(batch.map((b) => b.command))
      .then((results) => {
        batch.forEach((item, i) => {
          const result = results[i];
          if (result instanceof Error) item.reject(result);
          else if (result === undefined) item.reject(new Error('batch returned no result'));
          else item.resolve(result);
        });
      })
      .catch((error: unknown) => {
        for (const item of batch) item.reject(error);
      })
      .finally(() => {
        this.inFlight -= 1;
        this.kick();
        // Last: a failing observer must not stall the writer.
        try {
          this.onBatch?.(batch.length, performance.now() - started);
        } catch {
          // metrics only
        }
      });
  }
}
