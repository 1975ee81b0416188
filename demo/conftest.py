"""`make demo-minion`: pytest fixtures of the demo of a container that is a minion."""

from tests.conftest import state_tree  # noqa: F401  (file_roots with the _* folders)
