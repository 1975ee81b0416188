"""Integration tests of the mesh's DNS/DHCP server (real minion, OVS, dnsmasq)."""
