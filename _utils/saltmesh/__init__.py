"""saltmesh core: pure, importable logic shared by execution modules, states and runners.

Salt's utils loader imports this file too (route 1, file_roots), so it stays free of code.
"""
