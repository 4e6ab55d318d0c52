import fs from 'node:fs';
import path from 'node:path';
import type { DltIds, SendResult, SmsMessage, SmsProvider } from '../provider.ts';
import { fail } from './gateway-http.ts';

/** One line of the dev outbox file: what a real gateway would have been asked to send. */
export interface DevMessage {
  /** When the message was written, ISO 8601. */
  at: string;
  outboxId: number;
  kind: string;
  to: string;
  text: string;
  unicode: boolean;
  templateName: string;
  dlt: DltIds;
  variables: string[];
}

/** Where the dev provider reports each message: a pino-like logger or a plain callback. */
export type DevLog =
  { info(object: object, message?: string): void } | ((message: DevMessage) => void);

/** Settings of the dev provider. */
export interface DevProviderOptions {
  /** The outbox file, e.g. `<DATA_DIR>/sms-outbox.log`; its folder is created when missing. */
  file: string;
  log?: DevLog;
}

/**
 * Sends nothing: appends each message as one JSON line to a file and logs it, so that a
 * developer (and the quickstart, and tests) can read OTPs without an SMS gateway.
 */
export class DevProvider implements SmsProvider {
  readonly name = 'dev';
  readonly file: string;
  private readonly log: DevLog | undefined;

  constructor(options: DevProviderOptions) {
    this.file = path.resolve(options.file);
    this.log = options.log;
  }

  send(message: SmsMessage): Promise<SendResult> {
    const line: DevMessage = {
      at: new Date().toISOString(),
      outboxId: message.outboxId,
      kind: message.kind,
      to: message.to,
      text: message.text,
      unicode: message.unicode,
      templateName: message.templateName,
      dlt: message.dlt,
      variables: message.variables,
    };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      // One write with O_APPEND: concurrent writers (several centrals, tests) never interleave
      // inside a line, because the kernel moves to the end and writes in one step.
      fs.appendFileSync(this.file, `${JSON.stringify(line)}\n`, { flag: 'a', encoding: 'utf8' });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return Promise.resolve(fail('dev', true, `cannot append to ${this.file}: ${why}`));
    }
    this.report(line);
    return Promise.resolve({ ok: true, providerMessageId: `dev-${message.outboxId}` });
  }

  private report(line: DevMessage): void {
    if (!this.log) return;
    try {
      if (typeof this.log === 'function') this.log(line);
      else this.log.info({ event: 'sms:dev-sent', ...line }, `sms to ${line.to}: ${line.text}`);
    } catch {
      // The message is already in the file; a failing logger must not turn it into a failed send.
    }
  }
}

/**
 * Reads every message a DevProvider wrote to `file`, oldest first; none when the file does
 * not exist yet. Throws on a line that is not a message, naming its line number.
 */
export function readDevMessages(file: string): DevMessage[] {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const messages: DevMessage[] = [];
  const lines = content.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${index + 1} is not a JSON line: ${line.slice(0, 80)}`);
    }
    if (!isDevMessage(value)) {
      throw new Error(`${file}:${index + 1} is not a dev SMS message: ${line.slice(0, 80)}`);
    }
    messages.push(value);
  });
  return messages;
}

function isDevMessage(value: unknown): value is DevMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.at === 'string' &&
    typeof m.outboxId === 'number' &&
    typeof m.kind === 'string' &&
    typeof m.to === 'string' &&
    typeof m.text === 'string' &&
    typeof m.unicode === 'boolean' &&
    typeof m.templateName === 'string' &&
    typeof m.dlt === 'object' &&
    m.dlt !== null &&
    Array.isArray(m.variables)
  );
}
