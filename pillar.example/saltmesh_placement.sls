# Written by `salt-run placement.apply` (saltmesh). Do not edit: containers without
# `parents` are placed by rendezvous hashing; include this file from the pillar top.sls.
saltmesh:
  placement: {}
