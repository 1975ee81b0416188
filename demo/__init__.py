"""The saltmesh demo: ``make demo`` (``python -m demo``), the operator's day in eight steps."""
