// Registers the lesson elements (once; a page that loads the bundle twice keeps the first).
// Called by the bundle's entry after it has told the runtimes where their assets are, so a
// lesson already in the page, upgraded by define(), starts with the right asset URLs.

import { BoxplayCheck } from './boxplay-check.js'
import { BoxplayLesson } from './boxplay-lesson.js'
import { BoxplayRun } from './boxplay-run.js'
import { BoxplaySolution } from './boxplay-solution.js'
import { BoxplayStep } from './boxplay-step.js'

export function defineLessonElements(): void {
  const define = (name: string, element: CustomElementConstructor) => customElements.get(name) ?? customElements.define(name, element)
  // Leaves first: a step reads its checks and solution as upgraded elements.
  define('boxplay-check', BoxplayCheck)
  define('boxplay-solution', BoxplaySolution)
  define('boxplay-run', BoxplayRun)
  define('boxplay-step', BoxplayStep)
  define('boxplay-lesson', BoxplayLesson)
}
