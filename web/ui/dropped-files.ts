// Files dropped onto the page or picked with a file input, as context files with their paths:
// a dropped folder is walked (the File and Directory Entries API: webkitGetAsEntry), a folder
// picked with `webkitdirectory` carries each file's path in webkitRelativePath. Paths are
// made relative and cleaned, so nothing names a place outside the context.

export interface PickedFile {
  /** `/`-separated, relative, no `.` or `..` parts. */
  name: string
  bytes: Uint8Array
}

export function contextName(path: string): string {
  return path.split(/[\\/]/).filter((p) => p !== '' && p !== '.' && p !== '..').join('/') || 'file'
}

async function fromFile(file: File, path: string): Promise<PickedFile> {
  return { name: contextName(path), bytes: new Uint8Array(await file.arrayBuffer()) }
}

/** Files from a file input (a folder input gives each file's path under the folder). */
export function readFileList(list: FileList | null | undefined): Promise<PickedFile[]> {
  return Promise.all([...(list ?? [])].map((f) => fromFile(f, f.webkitRelativePath || f.name)))
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject))
}

/** Every entry of a directory: readEntries gives them in batches until an empty one. */
async function children(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader()
  const all: FileSystemEntry[] = []
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject))
    if (batch.length === 0) return all
    all.push(...batch)
  }
}

async function walk(entry: FileSystemEntry, out: PickedFile[]): Promise<void> {
  if (entry.isFile) out.push(await fromFile(await entryFile(entry as FileSystemFileEntry), entry.fullPath))
  else if (entry.isDirectory) for (const child of await children(entry as FileSystemDirectoryEntry)) await walk(child, out)
}

/** What a drop carries: its files, and the files of any folder in it (with the folder's name). */
export async function readDrop(data: DataTransfer | null | undefined): Promise<PickedFile[]> {
  if (!data) return []
  const entries = [...data.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry() : null))
  if (entries.length > 0 && entries.every((e) => e !== null)) {
    const out: PickedFile[] = []
    for (const e of entries) await walk(e!, out)
    return out
  }
  return readFileList(data.files)
}
