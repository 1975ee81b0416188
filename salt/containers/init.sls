# Run exactly the containers whose `parents` is this minion's docker host (servers pillar),
# attached to Open vSwitch; remove managed containers no longer declared here.
saltmesh-containers:
  container.placed
