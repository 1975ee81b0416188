# Three Docker hosts joined by a VXLAN full mesh, three containers, one Nagios server.
# cache01 names no `parents`: `salt-run placement.apply` picks its docker host and writes it to
# saltmesh_placement.sls (see top.sls and docs/containers.md, Placement).
servers:
  nagios01:
    node_type: server
    address: 10.0.0.5
    use: [linux-server]
    hostgroups: [monitoring]
  docker01:
    node_type: docker_host
    address: 10.0.0.11
    # overlay_address: 192.168.77.2/24   # turns on its DNS/DHCP server (needs dnsmasq)
    use: [linux-server]
    hostgroups: [docker-hosts]
  docker02:
    node_type: docker_host
    address: 10.0.0.12
    # overlay_address: 192.168.77.3/24   # turns on its DNS/DHCP server (needs dnsmasq)
    use: [linux-server]
    hostgroups: [docker-hosts]
  docker03:
    node_type: docker_host
    address: 10.0.0.13
    # overlay_address: 192.168.77.4/24   # turns on its DNS/DHCP server (needs dnsmasq)
    use: [linux-server]
    hostgroups: [docker-hosts]
  web01:
    node_type: container
    address: 192.168.77.11
    use: linux-server
    parents: docker01
    hostgroups: [web]
    container:
      image: local/busybox:latest
      command: [httpd, -f, -p, "80"]
      env: {ROLE: web}
      restart: unless-stopped
      memory: 64m
      networks:
        - bridge: br-mesh
          ip: 192.168.77.11/24
          mac: 02:77:00:00:00:11
          mtu: 1450
  db01:
    node_type: container
    address: 192.168.77.21
    use: linux-server
    parents: docker02
    container:
      image: local/busybox:latest
      command: [sh, -c, "trap 'exit 0' TERM; sleep 2147483647 & wait"]
      networks:
        - bridge: br-mesh
          ip: 192.168.77.21/24
          mac: 02:77:00:00:00:21
          mtu: 1450
  cache01:
    node_type: container
    address: 192.168.77.31
    use: linux-server
    container:
      image: local/busybox:latest
      command: [sh, -c, "trap 'exit 0' TERM; sleep 2147483647 & wait"]
      networks:
        - bridge: br-mesh
          ip: 192.168.77.31/24
          mac: 02:77:00:00:00:31
          mtu: 1450
          # rate: 100000        # optional: kbps both ways (OVS port + tbf shaper; docs/containers.md)
          # burst: 1000         # optional: kb, policer and shaper burst; needs rate

  # Placement by rules and resources (salt-run placement.plan / placement.apply): uncomment,
  # with `saltmesh:pools` in mesh.sls, and include the file placement.apply writes
  # (saltmesh_placement.sls) from top.sls. Docker hosts may carry what rules name:
  #   docker01: {..., zone: a, rack: r1, labels: {ssd: "true"}, capacity: {cpus: 4, memory: 8g}}
  # (capacity default: the host's grains num_cpus and mem_total in the master's cache).
  #
  # web:
  #   node_type: app                     # containers web-1, web-2, web-3
  #   instances: 3
  #   use: linux-server
  #   hostgroups: [web]
  #   constraints:
  #     - {unique: host}                 # at most one per host
  #     - {max_per: {zone: 2}}           # at most 2 per zone
  #     - {spread: zone}                 # even over the zones
  #     - {match: {labels.ssd: "true"}}  # only there; `avoid:` the opposite
  #     - {prefer: {zone: a}, weight: 50}  # soft
  #   container:
  #     image: local/busybox:latest
  #     command: [httpd, -f, -p, "80"]
  #     cpus: 0.5                        # reservations, and limits (reserve: to differ)
  #     memory: 256m
  #     networks:
  #       - {bridge: br-mesh, pool: overlay, mtu: 1450}   # IP and MAC from the pool
  #
  # A container that takes its address from the mesh's DHCP server (saltmesh:discovery in
  # mesh.sls, overlay_address on the docker hosts): no `address` needed, Nagios checks
  # app1.mesh.internal; its MAC is derived from its name, so the address survives a move.
  # app1:
  #   node_type: container
  #   parents: docker01
  #   container:
  #     image: local/busybox:latest
  #     networks:
  #       - {bridge: br-mesh, dhcp: true, mtu: 1450}
