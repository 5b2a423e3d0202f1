import type { IncomingMessage } from 'node:http'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/** A JSON body of the app's API: a small object (a reason, an event number), never a file. */
const MAX_BODY_BYTES = 16 * 1024

/** Reads a request's JSON object body (empty: `{}`); 400 ERR_BAD_REQUEST when too large or not an object. */
export const readJsonObject = async (request: IncomingMessage): Promise<{ text: string; body: Record<string, unknown> }> => {
  let text = ''
  for await (const chunk of request) {
    text += String(chunk)
    if (text.length > MAX_BODY_BYTES) throw new CollabError(ErrorCode.BadRequest, 'request body too large')
  }
  if (text.trim() === '') return { text, body: {} }
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { text, body: value as Record<string, unknown> }
  } catch {
    // fall through
  }
  throw new CollabError(ErrorCode.BadRequest, 'the request body must be a JSON object')
}

/** An integer query parameter within [min, max]; `fallback` when absent; 400 otherwise. */
export const boundedInteger = (url: URL, name: string, fallback: number, min: number, max: number): number => {
  const raw = url.searchParams.get(name)
  if (raw === null) return fallback
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN
  if (!(value >= min && value <= max)) throw new CollabError(ErrorCode.BadRequest, `${name} must be an integer from ${min} to ${max}`)
  return value
}
