# Heal drift on a schedule: every docker host re-applies its states (mesh, containers, ...)
#   salt 'docker*' state.sls mesh.heal
# Pillar: saltmesh:heal_minutes (default 10).
saltmesh-heal:
  schedule.present:
    - function: state.apply
    - minutes: {{ salt['pillar.get']('saltmesh:heal_minutes', 10) | int }}
    - splay: 30
    - return_job: False
