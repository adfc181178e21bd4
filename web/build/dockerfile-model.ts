// The Dockerfile's model: what the front end (dockerfile.ts) gives the builder, and the error
// that names a file, line and instruction. Apart from the parser so that the builder, and a
// build whose every step is cached, do not load dockerfile-ast.

export class DockerfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly instruction: string,
    what: string,
  ) {
    super(`${file}:${line}: ${instruction}: ${what}`)
    this.name = 'DockerfileError'
  }
}

export type Keyword =
  | 'FROM' | 'RUN' | 'COPY' | 'ADD' | 'ENV' | 'ARG' | 'WORKDIR' | 'USER' | 'CMD' | 'ENTRYPOINT'
  | 'EXPOSE' | 'LABEL' | 'SHELL' | 'STOPSIGNAL' | 'VOLUME' | 'HEALTHCHECK' | 'ONBUILD' | 'MAINTAINER'

export interface Instruction {
  keyword: Keyword
  /** 1-based line where the instruction starts. */
  line: number
  /** The arguments after the flags, continuations joined (Docker's view of the line). */
  args: string
  flags: ReadonlyMap<string, string>
  /** The exec (JSON array) form, when the arguments are one. */
  json?: string[]
  /** Instruction text as written (continuations joined), for errors and history. */
  text: string
}

export interface Stage {
  /** 0-based position. */
  index: number
  /** The `AS name`, lower-cased as Docker does. */
  name?: string
  /** The image expression after FROM (substituted with the global ARGs). */
  base: string
  from: Instruction
  steps: Instruction[]
}

export interface ParsedDockerfile {
  file: string
  escape: string
  /** ARGs before the first FROM. */
  globalArgs: Instruction[]
  stages: Stage[]
}
