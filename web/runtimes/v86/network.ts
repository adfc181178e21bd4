// A v86 run on a LAN (web/net/): the machine gets a virtio-net NIC whose frames go through
// the LAN's switch (`net0-send` out of the guest, `net0-receive` in), and boxplay-init gets
// eth0's address, MAC and gateway and the hosts file in the spec, after the restore (the
// saved state is shared by every run, so it holds no address). No DOM and no Node APIs.

import type { Lan, LanMember } from '../../net/lan.js'
import type { SwitchPort } from '../../net/switch.js'
import type { Emulator } from './machine.js'
import type { GuestNetwork } from './protocol.js'

/** How a v86 run joins a network: `V86Runtime.start(spec, { lan, name })`. */
export interface V86RunNetwork {
  lan: Lan
  /** The guest's name on the LAN (and its hostname unless the spec gives one). */
  name: string
  aliases?: readonly string[]
}

/** A run's place on the LAN, taken when the run starts, so its address is known at once. */
export class GuestLink {
  readonly member: LanMember
  private port: SwitchPort | undefined
  private unsubscribe: (() => void) | undefined

  constructor(readonly network: V86RunNetwork) {
    this.member = network.lan.join(network.name, network.aliases ?? [])
  }

  guestNetwork(): GuestNetwork {
    const { address, prefixLength, gateway, mac } = this.member
    return { address, prefixLength, gateway, mac }
  }

  /** Plugs the machine's NIC into the switch; `hostsChanged` gets each new hosts text. */
  plug(emulator: Emulator, hostsChanged: (hosts: string) => void): void {
    const port = this.network.lan.switch.attach((frame) => emulator.bus.send('net0-receive', frame))
    this.port = port
    // v86 hands out a view of a buffer it does not reuse, so it can travel as it is.
    emulator.add_listener('net0-send', (frame: Uint8Array) => port.send(frame))
    this.unsubscribe = this.member.onHostsChange(hostsChanged)
  }

  /** Unplugs the NIC and gives the address and names back. */
  leave(): void {
    this.unsubscribe?.()
    this.port?.close()
    this.member.leave()
  }
}
