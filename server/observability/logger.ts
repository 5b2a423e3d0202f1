import { pino, type Logger } from 'pino'

export type { Logger }

/** Structured JSON logs, one line per event (pipe through `npx pino-pretty` to read them at a terminal). */
export const createLogger = (level: string): Logger => pino({ level, base: { service: 'posalpro-collab' } })
