import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured JSON lines on stderr: stdout stays free for command output (doctor, import). */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { name: 'shoald' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
