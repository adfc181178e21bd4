// Starter Dockerfiles for the Build tab, one a bundled Linux image, each short enough to read
// at a glance and each showing something a layer is: a COPY of a context file, RUN steps
// that add and delete files, config that makes no layer (ENV, CMD).

export interface Starter {
  id: string
  label: string
  /** The bundled image it starts FROM. */
  image: string
  dockerfile: string
  /** Context files it COPYs, created when the starter is picked. */
  files: Record<string, string>
}

export const STARTERS: readonly Starter[] = [
  {
    // The images-and-layers lesson links here: build, change line 3, build again.
    id: 'layers',
    label: 'busybox: layers and the cache (the lesson’s)',
    image: 'busybox',
    dockerfile: [
      'FROM busybox',
      'COPY message.txt /srv/message.txt',
      'RUN echo "made by line 3" > /srv/line3.txt',
      'RUN rm /bin/vi',
      'CMD ["cat", "/srv/message.txt", "/srv/line3.txt"]',
      '',
    ].join('\n'),
    files: { 'message.txt': 'a file from the build context\n' },
  },
  {
    id: 'busybox',
    label: 'busybox: a file, a RUN, a command',
    image: 'busybox',
    dockerfile: [
      'FROM busybox',
      'COPY hello.txt /srv/hello.txt',
      'RUN echo "built at step 3" >> /srv/hello.txt && rm /etc/group',
      'ENV GREETING=hi',
      'CMD ["cat", "/srv/hello.txt"]',
      '',
    ].join('\n'),
    files: { 'hello.txt': 'hello from the build context\n' },
  },
  {
    id: 'debian',
    label: 'debian: a Python script, run by python3',
    image: 'debian',
    dockerfile: [
      'FROM debian',
      'WORKDIR /app',
      'COPY app.py .',
      'RUN python3 -c "import py_compile; py_compile.compile(\'app.py\', cfile=\'app.pyc\')" && ls -l',
      'CMD ["python3", "app.pyc"]',
      '',
    ].join('\n'),
    files: { 'app.py': 'import platform\nprint("hello from", platform.machine())\n' },
  },
]
