# First phase of a move (salt-run state.orchestrate orch.placement): stop or remove what is no
# longer placed on this docker host (as saltmesh:containers:prune says; a container moved to
# another host is always stopped at least). Creates and changes nothing else.
saltmesh-containers-prune:
  container.placed:
    - prune_only: True
