"""Nagios and NRPE from the inventory: settings, reading, building, rendering, deploying.

Salt's utils loader imports this file too (route 1, file_roots), so it stays free of code.
"""
