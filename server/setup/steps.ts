// Every build step of the project, in one list. Each lives beside what it builds.

import type { BuildStep } from './step.js'
import { testTools } from './test-tools.js'
import { guestInitStep } from '../../images/init/step.js'
import { guestKernelStep } from '../../images/kernel/step.js'
import { guestStateStep } from '../v86/state-step.js'
import { imageSteps } from '../../images/steps.js'
import { nativeCoreStep } from '../native/build-step.js'
import { playgroundStep } from '../http/playground-step.js'
import { widgetStep } from '../lessons/widget-build.js'
import { storeToolsStep } from '../store/setup-step.js'

export const steps: BuildStep[] = [testTools, guestInitStep, guestKernelStep, guestStateStep, ...imageSteps, nativeCoreStep, playgroundStep, storeToolsStep, widgetStep]
