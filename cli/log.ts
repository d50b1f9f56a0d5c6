import pino, { type Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LEVELS as readonly string[]).includes(s);
}

/** pino JSON lines on stderr (fd 2), so stdout carries only results. Synchronous, so nothing is lost on exit. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
