base:
  '*':
    - servers
    - mesh
    - nagios
