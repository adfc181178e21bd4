// Network errors by code, so the CLI and the server pick an exit code or an HTTP status
// without reading the message (STYLE.md: errors by code, not by text).

export type NetworkErrorCode = 'not-found' | 'exists' | 'in-use' | 'invalid' | 'unsupported' | 'exhausted'

export class NetworkError extends Error {
  constructor(
    readonly code: NetworkErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'NetworkError'
  }
}
