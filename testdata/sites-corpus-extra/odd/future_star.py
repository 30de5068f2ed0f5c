"""Python's parser accepts this (the compiler rejects it later); tree-sitter does not."""

from __future__ import *

run(1)
