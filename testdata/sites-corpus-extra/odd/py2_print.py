# Python 2: Python 3's ast rejects it; tree-sitter-python accepts print/exec statements.
print "deploying"
exec "run(1)"
run(2)
