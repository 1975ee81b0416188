"""Open vSwitch core: read OVSDB, diff desired against actual, write one transaction.

One concern per module (see each module's docstring); :mod:`saltmesh.ovs.ovsdb` is the only
one that runs ``ovs-vsctl``. Salt's utils loader imports this file too, so it stays free of
code.
"""
