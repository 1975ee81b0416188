base:
  '*':
    - servers
    - mesh
