// Errors the HTTP layer turns into `{ "error": "…" }` responses with a status code.

export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message)
export const notFound = (message: string): HttpError => new HttpError(404, message)

/**
 * A status for an error thrown by code below the HTTP layer (the store, a runtime). Those
 * modules speak in words, not statuses, so this reads the words and the Node error code:
 * "not found"/"unknown"/ENOENT mean 404, an input complaint means 400, the rest 500.
 */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status
  const e = err as { code?: unknown; status?: unknown; message?: unknown } | null
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 600) return e.status
  if (e && e.code === 'ENOENT') return 404
  const message = e && typeof e.message === 'string' ? e.message : ''
  if (/\b(not found|no such|no image|unknown image|does not exist|not in the store)\b/i.test(message)) return 404
  if (/\block(ed)?\b|\blacks\b|vanished/i.test(message)) return 409
  if (/\b(invalid|expected|must be|malformed|not supported|unsupported|no platform|refus)/i.test(message)) return 400
  return 500
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
