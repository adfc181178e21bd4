// A virtual Ethernet switch: the in-page LAN's wire. Each member (a v86 guest's NIC, the
// host-side TCP stack) is a port; the switch learns which MAC sits behind which port from
// the frames it sees and floods broadcasts, multicasts and unknown destinations, as a real
// learning switch does. Frames are delivered on a microtask, never inside the sender's call:
// a v86 NIC hands a frame over from inside its emulated device, and an answer must not
// re-enter that device before it has finished. No DOM and no Node APIs.

import { destinationMac, sourceMac } from './frames.js'

export interface SwitchPort {
  /** A frame from this member into the switch. */
  send(frame: Uint8Array): void
  /** Unplugs the member; its MACs are forgotten. */
  close(): void
}

interface Member {
  deliver: (frame: Uint8Array) => void
  queue: Uint8Array[]
  scheduled: boolean
  open: boolean
}

/** Frames a port may have waiting before the oldest are dropped, as a NIC's ring would. */
const MAX_QUEUED_FRAMES = 1024

export class VirtualSwitch {
  private readonly members = new Set<Member>()
  private readonly table = new Map<string, Member>()

  /** Plugs in a member; `deliver` gets the frames addressed to it (or flooded). */
  attach(deliver: (frame: Uint8Array) => void): SwitchPort {
    const member: Member = { deliver, queue: [], scheduled: false, open: true }
    this.members.add(member)
    return {
      send: (frame) => member.open && this.forward(member, frame),
      close: () => {
        member.open = false
        this.members.delete(member)
        for (const [mac, m] of this.table) if (m === member) this.table.delete(mac)
      },
    }
  }

  get size(): number {
    return this.members.size
  }

  private forward(from: Member, frame: Uint8Array): void {
    if (frame.length < 14) return
    const src = sourceMac(frame)
    if ((frame[6]! & 1) === 0) this.table.set(src, from)
    const known = (frame[0]! & 1) === 0 ? this.table.get(destinationMac(frame)) : undefined
    if (known) {
      if (known !== from) this.enqueue(known, frame)
      return
    }
    for (const member of this.members) if (member !== from) this.enqueue(member, frame)
  }

  private enqueue(member: Member, frame: Uint8Array): void {
    member.queue.push(frame)
    if (member.queue.length > MAX_QUEUED_FRAMES) member.queue.shift()
    if (member.scheduled) return
    member.scheduled = true
    queueMicrotask(() => {
      member.scheduled = false
      for (const f of member.queue.splice(0)) if (member.open) member.deliver(f)
    })
  }
}
