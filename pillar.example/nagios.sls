# saltmesh Nagios settings. Every key is optional; the values shown are the Debian 12 defaults
# unless marked "example". Hosts, parents, hostgroups and services come from `servers`
# (pillar.example/servers.sls): add a container there, run
#   salt 'nagios*' state.sls nagios.running
# and Nagios monitors it under its Docker host.
saltmesh:
  nagios:
    # The Nagios servers (names in `servers` or IP addresses): NRPE allows exactly these.
    servers: [nagios01]                          # example
    main_config: /etc/nagios4/nagios.cfg
    conf_dir: /etc/nagios4/conf.d/saltmesh       # owned by saltmesh; must sit inside a cfg_dir
    binary: /usr/sbin/nagios4                    # runs `nagios4 -v` before anything goes live
    reload: systemd                              # systemd | signal | none
    service: nagios4                             # systemd unit (reload: systemd)
    # pid_file: /run/nagios4/nagios4.pid         # reload: signal; default: lock_file of main_config
    timeout: 60                                  # seconds for nagios -v and for the reload
    group: nagios                                # group that may read the Slack webhook file
    packages: [nagios4, nagios-nrpe-plugin, python3-requests]
    host_template: linux-server                  # `use` of servers that name none
    service_template: generic-service            # `use` of services that name none

    # Services of every host and container, shaped like `servers:<name>:services`. Without
    # the key, these two, through NRPE (nagios.nrpe defines their commands); `{}`: none. A
    # server's own service of the same description replaces one, `null` leaves it out:
    #   servers: {web01: {services: {Users: null}}}
    # default_services:
    #   Salt minion: {check_command: 'check_nrpe!check_salt_minion'}
    #   Users: {check_command: 'check_nrpe!check_users'}

    # Notifications; off without webhook_url. The commands carry no plugin output (the script
    # reads it from status.dat), so nothing a check prints can reach a shell.
    slack:
      webhook_url: https://hooks.slack.com/services/T000/B000/XXXXXXXX   # example (a secret)
      channel: '#ops'                            # example; default: the webhook's channel
      # username: nagios
      url_file: /etc/nagios4/saltmesh-slack.url  # mode 0640 root:<group>; the URL is nowhere else
      script: /usr/local/lib/saltmesh/nagios-slack-notify
      python: /usr/bin/python3                   # needs python3-requests
      contact_template: generic-contact

    nrpe:                                        # salt 'web*' state.sls nagios.nrpe
      main_config: /etc/nagios/nrpe.cfg
      include_dir: /etc/nagios/nrpe.d            # must be an include_dir of main_config
      file: saltmesh.cfg
      pid_file: /run/nagios/nrpe.pid             # reload: signal
      reload: systemd                            # systemd | signal | none
      service: nagios-nrpe-server
      packages: [nagios-nrpe-server, monitoring-plugins]
      allowed_hosts: []                          # extra addresses/networks besides `servers`
      # Besides these, always (unless redefined here, or set to null to drop one):
      #   check_salt_minion: /usr/lib/nagios/plugins/check_procs -c 1: --ereg-argument-array=/salt-minion
      #   check_users: /usr/lib/nagios/plugins/check_users -w 5 -c 10
      commands:                                  # example
        check_load: /usr/lib/nagios/plugins/check_load -r -w .15,.10,.05 -c .30,.25,.20
        check_root: /usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /

# Services per host live with the host, e.g. (example):
# servers:
#   web01:
#     services:
#       HTTP: {check_command: check_http}
#       Load: {check_command: 'check_nrpe!check_load', use: generic-service}
