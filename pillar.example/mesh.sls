saltmesh:
  mesh:
    bridge: br-mesh
    tunnel: vxlan          # gre | vxlan | geneve
    key: 5000              # VXLAN/Geneve VNI or GRE key
    datapath_type: system  # netdev for the userspace datapath
    mtu: 1450              # overlay MTU; must fit underlay_mtu minus tunnel overhead
    underlay_mtu: 1500
    subnet: 192.168.77.0/24
    topology: full         # full: a tunnel port per peer | flow: one flow-based port + OpenFlow rules
    # domain: mesh.internal  # every server and container resolves as <name>.<domain>
    # underlay:            # per-host underlay address, default: the host's address
    #   docker01: 10.200.0.1
  # pools:                 # addresses for containers with `pool:` (salt-run placement.apply)
  #   overlay: {subnet: 192.168.77.0/24, range: [192.168.77.100, 192.168.77.199]}
  # placement_weights: {docker03: 0}   # 0 drains a host (placement moves its containers)
  # discovery:             # DNS + DHCP on the overlay (docs/discovery.md); on as soon as a
  #                        # docker host has an overlay_address (see servers.sls)
  #   dhcp_range: [192.168.77.200, 192.168.77.249]   # for `dhcp: true` container networks
  #   upstream: []         # resolvers for other names; default: the host's resolv.conf
