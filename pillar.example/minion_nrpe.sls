# nagios.nrpe inside a minion container: no systemd there, the image's entrypoint runs NRPE with
# Debian's config and pid file, so the pack reloads it with SIGHUP (for mon01 only, see
# minions.sls). Merged into saltmesh:nagios of nagios.sls.
saltmesh:
  nagios:
    nrpe:
      reload: signal
      pid_file: /run/nagios/nrpe.pid
