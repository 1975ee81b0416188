"""`make demo`: pillar.example applied by a real master to three simulated Docker hosts."""

from tests.conftest import state_tree  # noqa: F401  (file_roots with the _* folders)
