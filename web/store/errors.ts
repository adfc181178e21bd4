// Errors of the browser stores, by code (as RegistryError does), so the UI switches on
// what went wrong instead of reading messages.

export type StoreErrorCode =
  /** The browser (or the store's own cap) refused more data. */
  | 'quota'
  /** No such image, container or blob. */
  | 'not-found'
  /** A name already in use. */
  | 'exists'
  /** A record that does not read back as what was written. */
  | 'corrupt'
  /** The container is running: stop it first. */
  | 'busy'
  /** IndexedDB is not there (a private window, a disabled setting). */
  | 'unavailable'
  | 'invalid'
  | 'failed'

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'StoreError'
  }
}

/** A record that was skipped because it could not be read; the rest of the store is intact. */
export interface SkippedRecord {
  store: string
  key: string
  reason: string
}
