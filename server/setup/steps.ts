// Every build step of the project, in one list. Each lives beside what it builds.

import type { BuildStep } from './step.js'
import { testTools } from './test-tools.js'

export const steps: BuildStep[] = [testTools]
