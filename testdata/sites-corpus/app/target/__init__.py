"""A package named like build output: it is code, so both tools must read it."""
