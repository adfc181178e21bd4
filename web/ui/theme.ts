// Shared look: colours as custom properties (light and dark), focus rings that show, and
// controls big enough for a finger on a tablet.

import { css } from 'lit'

export const theme = css`
  :host {
    --bp-bg: #f7f7f5;
    --bp-panel: #ffffff;
    --bp-text: #1d1f21;
    --bp-muted: #5c6166;
    --bp-border: #d5d7da;
    --bp-accent: #1b6ac9;
    --bp-accent-text: #ffffff;
    --bp-danger: #b3261e;
    --bp-ok: #1e7b34;
    --bp-term: #121417;
    --bp-radius: 8px;
    --bp-v86: #7a4cc2;
    --bp-wasi: #c27a12;
    --bp-native: #1e7b34;
    font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    color: var(--bp-text);
    box-sizing: border-box;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --bp-bg: #16181b;
      --bp-panel: #1f2226;
      --bp-text: #e6e6e3;
      --bp-muted: #a2a7ad;
      --bp-border: #3a3f45;
      --bp-accent: #5b9dff;
      --bp-accent-text: #0b0d10;
      --bp-danger: #ff8a80;
      --bp-ok: #7bd88f;
    }
  }
  *, *::before, *::after { box-sizing: inherit; }
  :focus-visible { outline: 3px solid var(--bp-accent); outline-offset: 2px; }
  button, input, select {
    font: inherit;
    min-height: 2.5rem;
    border-radius: var(--bp-radius);
  }
  button {
    border: 1px solid var(--bp-border);
    background: var(--bp-panel);
    color: var(--bp-text);
    padding: 0 1rem;
    cursor: pointer;
  }
  button.primary { background: var(--bp-accent); color: var(--bp-accent-text); border-color: var(--bp-accent); font-weight: 600; }
  button:disabled { opacity: 0.55; cursor: not-allowed; }
  input, select { border: 1px solid var(--bp-border); background: var(--bp-panel); color: var(--bp-text); padding: 0 0.6rem; }
  .muted { color: var(--bp-muted); }
  .error { color: var(--bp-danger); }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`
