import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; events are named `domain:verb`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'central' } });
}
