# A container that is a salt-minion (README, "Containers that are minions"). Not in top.sls by
# default: it needs the image on docker01 (scripts/build-minion-image) and the master's reactor.
# Then in top.sls:
#   base:
#     '*': [servers, mesh, nagios, minions]
#     'mon01': [minion_nrpe]
servers:
  mon01:
    node_type: container
    address: 10.0.0.11          # Nagios reaches its NRPE through docker01's port 15666
    parents: docker01
    container:
      image: saltmesh/minion:3008.3
      restart: unless-stopped
      ports: {5666/tcp: "15666"}  # docker01's own NRPE has 5666
      minion:
        master: 10.0.0.2        # as the container reaches it (default bridge, NAT by docker01)
        # master_port: 4506     # the master's ret_port, when not the default
