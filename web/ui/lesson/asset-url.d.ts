// vite's `?url` imports give the URL an asset was emitted at (relative to the bundle).
declare module '*?url' {
  const url: string
  export default url
}
