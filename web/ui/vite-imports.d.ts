// vite's import suffixes: `?inline` gives a stylesheet's text (for a shadow root to adopt),
// `?url` the URL the build serves a file at.
declare module '*.css?inline' {
  const css: string
  export default css
}
declare module '*?url' {
  const url: string
  export default url
}
