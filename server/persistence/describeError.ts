/** An error as one line for ERR_PERSISTENCE_FAILED's message: its code, message and causes. */
export const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const { cause, code } = error as Error & { cause?: unknown; code?: string }
  const text = code ? `${code}: ${error.message}` : error.message
  return cause instanceof Error ? `${text} (${describeError(cause)})` : text
}
