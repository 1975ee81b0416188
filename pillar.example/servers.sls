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
    use: [linux-server]
    hostgroups: [docker-hosts]
  docker02:
    node_type: docker_host
    address: 10.0.0.12
    use: [linux-server]
    hostgroups: [docker-hosts]
  docker03:
    node_type: docker_host
    address: 10.0.0.13
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
