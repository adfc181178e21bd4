// dockerfile-ast (the builder's parser) calls Node's `Buffer.from(char, 'UTF-8')` once per
// parse, to test the first character for a UTF-8 byte order mark, and nothing else of Buffer.
// A page has no Buffer: give it exactly that one function (UTF-8 bytes of a string), only
// where no Buffer exists, so the same parser runs in the Build tab as in the CLI.

const scope = globalThis as { Buffer?: unknown }
if (scope.Buffer === undefined) {
  const encoder = new TextEncoder()
  scope.Buffer = {
    from(text: string): Uint8Array {
      return encoder.encode(text)
    },
  }
}
