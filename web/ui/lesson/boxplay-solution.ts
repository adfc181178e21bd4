// <boxplay-solution>: a step's worked answer, hidden until the learner asks for it with the
// step's "Show solution" button (which sets `revealed`).

export class BoxplaySolution extends HTMLElement {
  static get observedAttributes(): string[] {
    return ['revealed']
  }

  connectedCallback(): void {
    this.sync()
  }

  attributeChangedCallback(): void {
    this.sync()
  }

  private sync(): void {
    this.hidden = !this.hasAttribute('revealed')
  }
}
