"""Service discovery on the overlay: one dnsmasq per docker host (DNS for every name, DHCP for
its own containers), planned from the ``servers`` pillar; one module per concern.

Salt's utils loader imports this file too (route 1, file_roots), so it stays free of code.
"""
