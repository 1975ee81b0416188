"""Docker containers of a host, plugged into Open vSwitch pipework-style; one module per concern.

Salt's utils loader imports this file too (route 1, file_roots), so it stays free of code.
"""
