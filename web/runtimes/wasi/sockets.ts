// The host capability behind a WASI server's preopened listening socket (wasmtime's
// `--tcplisten`). WASI preview1 has no socket(), bind() or listen(): a server is handed a
// socket that already listens, and only accepts, reads, writes, shuts down and closes. So
// the runtime never opens sockets itself: whoever starts the run gives it listeners, and
// each listener reports the connections it accepted. In Node that is a TCP server on
// 127.0.0.1 (server/wasi/tcp-listener.ts); in a page, a PagePort a page script connects to
// (page-port.ts). No DOM and no Node APIs here.

/** One connection a listener accepted, seen from the host side. */
export interface HostConnection {
  /** The peer, for display, e.g. "127.0.0.1:51234" or "page". */
  readonly remoteAddress: string
  /**
   * Sets the callbacks (once, right after the connection is handed over): bytes from the
   * peer, the peer's end of stream (it shut down writing; we may still write), and the
   * connection gone (closed, or reset: then `error` says why).
   */
  handle(events: { data(bytes: Uint8Array): void; end(): void; close(error?: string): void }): void
  /** Sends bytes to the peer; `flushed` is called once they left (for the sender's flow control). */
  write(bytes: Uint8Array, flushed: () => void): void
  /** Ends our side (a FIN): the peer reads end of stream after what was written; then `flushed`. */
  end(flushed?: () => void): void
  /** Closes both ways at once, dropping what was not sent yet. */
  destroy(): void
  /** Stops reporting data until resume(): the run has not read what it was given. */
  pause(): void
  resume(): void
}

/** A listening socket the host opened for a run; the run owns it and closes it when it ends. */
export interface SocketListener {
  /** Where it listens, for display, e.g. "127.0.0.1:8080" or "page:echo". */
  readonly address: string
  /** Sets the one callback for accepted connections; connections before it are kept for it. */
  onConnection(accept: (connection: HostConnection) => void): void
  /** Stops listening; connections already handed over stay open. */
  close(): void
}
