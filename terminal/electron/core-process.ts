import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { parseReadyLine, type CoreReady } from './counter-contract.ts';
import { restartDelayMs as defaultRestartDelayMs } from './shell-logic.ts';

/** How to start the core: a program, its arguments, environment and working folder. */
export interface CoreCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CoreSupervisorOptions {
  command: CoreCommand;
  /** A core that has not announced itself by then is stopped and counted as failed. */
  startTimeoutMs?: number;
  /** How long a stop waits for a clean exit before it kills. */
  stopGraceMs?: number;
  /** A core that served this long before failing starts the backoff afresh. */
  healthyAfterMs?: number;
  restartDelayMs?: (failures: number) => number;
  /** Output lines kept for the page shown when the core is down. */
  tailLines?: number;
}

/** Why the core is not serving, and when the next start is. */
export interface CoreDown {
  reason: string;
  /** The last lines the core wrote (stdout and stderr), oldest first. */
  output: string[];
  retryInMs: number;
}

type CoreEvents = {
  ready: [CoreReady];
  down: [CoreDown];
  output: [stream: 'stdout' | 'stderr', line: string];
};

/**
 * Runs the terminal core as a child process, restarts it with growing pauses when it fails,
 * and stops it gracefully. A crash in the core (a native module, a bug) takes down only the
 * child: the window stays and says what happened.
 */
export class CoreSupervisor extends EventEmitter<CoreEvents> {
  readonly #command: CoreCommand;
  readonly #startTimeoutMs: number;
  readonly #stopGraceMs: number;
  readonly #healthyAfterMs: number;
  readonly #restartDelayMs: (failures: number) => number;
  readonly #tailLines: number;

  #child: ChildProcessWithoutNullStreams | undefined;
  #exited: Promise<void> = Promise.resolve();
  #tail: string[] = [];
  #failures = 0;
  #readyAt: number | undefined;
  #failureReason: string | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(options: CoreSupervisorOptions) {
    super();
    this.#command = options.command;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#stopGraceMs = options.stopGraceMs ?? 5_000;
    this.#healthyAfterMs = options.healthyAfterMs ?? 60_000;
    this.#restartDelayMs = options.restartDelayMs ?? defaultRestartDelayMs;
    this.#tailLines = options.tailLines ?? 40;
  }

  /** Starts the core unless it is running or the supervisor was stopped. */
  start(): void {
    if (this.#stopping || this.#child) return;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#readyAt = undefined;
    this.#failureReason = undefined;
    this.#tail = [];

    const { command, args, env, cwd } = this.#command;
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.#child = child;

    let settle = (): void => undefined;
    this.#exited = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let ended = false;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      clearTimeout(this.#startTimer);
      this.#child = undefined;
      settle();
      this.#afterExit(reason);
    };

    child.on('error', (error) => {
      end(`the core could not be started: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      end(
        signal ? `the core was stopped by ${signal}` : `the core exited with code ${code ?? '?'}`,
      );
    });
    // A core that stops reading its stdin must not crash the shell with EPIPE.
    child.stdin.on('error', () => undefined);

    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      this.#record('stdout', line);
      this.#onStdoutLine(child, line);
    });
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      this.#record('stderr', line);
    });

    this.#startTimer = setTimeout(() => {
      this.#fail(child, `the core did not start within ${this.#startTimeoutMs / 1000} s`);
    }, this.#startTimeoutMs);
  }

  /**
   * Stops the core and keeps it stopped: closes its stdin (all a Windows process gets), sends
   * SIGTERM elsewhere, and kills it if it has not exited after the grace period.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const child = this.#child;
    if (!child) return;
    child.stdin.end();
    if (process.platform !== 'win32') child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), this.#stopGraceMs);
    await this.#exited;
    clearTimeout(killTimer);
  }

  get isRunning(): boolean {
    return this.#child !== undefined;
  }

  /** Keeps and passes on a line, without the UI's token: it opens the counter's API. */
  #record(stream: 'stdout' | 'stderr', line: string): void {
    const shown = line.replace(/#token=[^"\s]*/g, '#token=…');
    this.#tail.push(shown);
    if (this.#tail.length > this.#tailLines) this.#tail.shift();
    this.emit('output', stream, shown);
  }

  #onStdoutLine(child: ChildProcessWithoutNullStreams, line: string): void {
    if (this.#readyAt !== undefined) return;
    const result = parseReadyLine(line);
    if (result.kind === 'ready') {
      clearTimeout(this.#startTimer);
      this.#readyAt = Date.now();
      this.emit('ready', result.ready);
    } else if (result.kind === 'refused') {
      this.#fail(child, result.reason);
    }
  }

  /** Ends a core that cannot be used; its exit then reports `reason`. */
  #fail(child: ChildProcessWithoutNullStreams, reason: string): void {
    this.#failureReason ??= reason;
    child.kill('SIGKILL');
  }

  #afterExit(exitReason: string): void {
    if (this.#stopping) return;
    const servedLongEnough =
      this.#readyAt !== undefined && Date.now() - this.#readyAt >= this.#healthyAfterMs;
    this.#failures = servedLongEnough ? 1 : this.#failures + 1;
    const retryInMs = this.#restartDelayMs(this.#failures);
    this.emit('down', {
      reason: this.#failureReason ?? exitReason,
      output: [...this.#tail],
      retryInMs,
    });
    this.#restartTimer = setTimeout(() => {
      this.start();
    }, retryInMs);
  }
}
