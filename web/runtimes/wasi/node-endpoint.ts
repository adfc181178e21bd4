// Comlink speaks DOM MessageEvents; Node's Worker and parentPort emit the data itself.
// This adapts one to the other (like comlink's own node adapter, but typed for NodeNext).
// No Node imports: the objects are passed in.

import type { Endpoint } from 'comlink'

export interface NodeMessagePort {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void
  on(type: 'message', listener: (data: unknown) => void): unknown
  off(type: 'message', listener: (data: unknown) => void): unknown
}

type Listener = EventListenerOrEventListenerObject

export function nodeEndpoint(port: NodeMessagePort): Endpoint {
  const wrapped = new WeakMap<Listener, (data: unknown) => void>()
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer ?? []),
    addEventListener(_type: string, listener: Listener) {
      const fn = (data: unknown): void => {
        const event = { data } as MessageEvent
        if (typeof listener === 'function') listener(event)
        else listener.handleEvent(event)
      }
      wrapped.set(listener, fn)
      port.on('message', fn)
    },
    removeEventListener(_type: string, listener: Listener) {
      const fn = wrapped.get(listener)
      if (fn) port.off('message', fn)
      wrapped.delete(listener)
    },
  }
}
