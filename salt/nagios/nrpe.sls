{#-
  nagios.nrpe: the NRPE agent on a monitored minion. `allowed_hosts` is one sorted line of the
  Nagios servers' addresses (`saltmesh:nagios:servers`), commands come from
  `saltmesh:nagios:nrpe:commands`; both live in a file the pack owns in NRPE's include_dir.

      salt 'web*' state.sls nagios.nrpe
#}
{%- set nrpe = salt['saltmesh_nagios.settings']().nrpe %}
{%- set before = [{'file': 'saltmesh-nrpe-include-dir'}] %}

{%- if nrpe.packages %}
saltmesh-nrpe-packages:
  pkg.installed:
    - pkgs: {{ nrpe.packages | json }}
{%- do before.append({'pkg': 'saltmesh-nrpe-packages'}) %}
{%- endif %}

saltmesh-nrpe-include-dir:
  file.directory:
    - name: {{ nrpe.include_dir }}
    - makedirs: True
{%- if nrpe.packages %}
    - require:
      - pkg: saltmesh-nrpe-packages
{%- endif %}

saltmesh-nrpe-config:
  nagios_nrpe.managed:
    - name: {{ nrpe.include_dir }}/{{ nrpe.file }}
    - require: {{ before | json }}

{%- if nrpe.reload == 'systemd' %}

saltmesh-nrpe-service:
  service.running:
    - name: {{ nrpe.service }}
    - enable: True
    - require:
      - nagios_nrpe: saltmesh-nrpe-config
{%- endif %}
