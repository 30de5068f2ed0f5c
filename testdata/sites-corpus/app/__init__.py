"""Package docstring mentioning deploy_app(1) and run() and get()."""
from .core import deploy_app  # deploy_app(2) in a comment

__all__ = ["deploy_app"]
