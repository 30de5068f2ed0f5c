"""Only error: a number glued to a name (as in Django's
tests/test_runner_apps/tagged/tests_syntax_error.py). tree-sitter recovers with a
zero-width MISSING _newline token, which is hidden: no ERROR node and no visible
MISSING node, only root_node().has_error(). Python: "invalid decimal literal".
"""
from app.core import deploy_app

deploy_app("before")
1deploy_app  # NOQA
