"""Unit tests of saltmesh.discovery (no Salt, no dnsmasq)."""
