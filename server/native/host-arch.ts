// Which image architectures this host's kernel can execute natively. x86_64 runs amd64;
// i386 binaries need the kernel's IA32 emulation (CONFIG_IA32_EMULATION, sometimes turned
// off with ia32_emulation=0), so that is asked of the kernel once with a 93-byte i386
// program that only calls exit(0).

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { arch, tmpdir } from 'node:os'
import { join } from 'node:path'

/** ELF32 header + one PT_LOAD program header + `mov eax,1; xor ebx,ebx; int 0x80`. */
function tinyI386Exit(): Uint8Array {
  const b = Buffer.alloc(93)
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0) // ELF, 32-bit, little endian, version 1
  b.writeUInt16LE(2, 16) // ET_EXEC
  b.writeUInt16LE(3, 18) // EM_386
  b.writeUInt32LE(1, 20) // EV_CURRENT
  b.writeUInt32LE(0x08048054, 24) // entry: the code right after the headers
  b.writeUInt32LE(52, 28) // program headers follow the ELF header
  b.writeUInt16LE(52, 40) // e_ehsize
  b.writeUInt16LE(32, 42) // e_phentsize
  b.writeUInt16LE(1, 44) // e_phnum
  b.writeUInt32LE(1, 52) // PT_LOAD
  b.writeUInt32LE(0, 56) // from file offset 0
  b.writeUInt32LE(0x08048000, 60) // p_vaddr
  b.writeUInt32LE(0x08048000, 64) // p_paddr
  b.writeUInt32LE(93, 68) // p_filesz
  b.writeUInt32LE(93, 72) // p_memsz
  b.writeUInt32LE(5, 76) // R+X
  b.writeUInt32LE(0x1000, 80) // p_align
  b.set([0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80], 84)
  return b
}

let i386: boolean | undefined

/** True unless the kernel says it cannot execute i386 binaries (ENOEXEC). */
export function hostRunsI386(): boolean {
  if (i386 !== undefined) return i386
  if (arch() !== 'x64') return (i386 = arch() === 'ia32')
  const dir = mkdtempSync(join(tmpdir(), 'boxplay-i386-probe-'))
  try {
    const file = join(dir, 'exit0')
    writeFileSync(file, tinyI386Exit(), { mode: 0o755 })
    execFileSync(file, [], { stdio: 'ignore', timeout: 5000 })
    i386 = true
  } catch (err) {
    // Only a refusal of the format is an answer; a noexec /tmp says nothing about the kernel.
    i386 = (err as NodeJS.ErrnoException).code !== 'ENOEXEC'
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return i386
}
