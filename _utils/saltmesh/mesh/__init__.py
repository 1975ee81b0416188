"""The tunnel mesh: plan it from the inventory, reconcile it with OVSDB, report and draw it."""
