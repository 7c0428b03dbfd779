// The one logger factory: pino, structured, one line per event. Components take a child logger
// named for themselves. SKIFF_LOG_LEVEL sets the level (default info; tests default to warn).
import { pino, type Logger } from 'pino';

const defaultLevel = process.env.SKIFF_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');

const root: Logger = pino({ level: defaultLevel, base: { pid: process.pid } }, pino.destination(2));

export type { Logger };

export function logger(component: string): Logger {
  return root.child({ component });
}
