// `network inspect` in the shape of `docker network inspect`, so tools and habits carry over.
// Internal is true: boxplay routes nothing beyond a network's subnet (no NAT, no forwarding).

import type { NetworkRecord } from './records.js'

export function inspectJson(r: NetworkRecord): Record<string, unknown> {
  const prefix = r.subnet.split('/')[1]
  return {
    Name: r.name,
    Id: r.id,
    Created: r.created,
    Scope: 'local',
    Driver: r.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: r.subnet, Gateway: r.gateway }] },
    Internal: true,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      r.leases.map((l) => [l.runId, { Name: l.names[0] ?? l.runId, EndpointID: l.hostIfname, MacAddress: '', IPv4Address: `${l.ip}/${prefix}`, IPv6Address: '', Aliases: l.names.slice(1) }]),
    ),
    Options: { 'com.docker.network.bridge.name': r.bridge },
    Labels: {},
  }
}
