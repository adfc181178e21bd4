// The built-in network modes, in a module of their own so the native runtime can name them
// without loading the network code for runs that join no network.

/** Only loopback: the native runtime's default. */
export const NO_NETWORK = 'none'
/** The default bridge network, made on first use. */
export const DEFAULT_BRIDGE = 'bridge'
