; Python 2 statements that tree-sitter-python still accepts but Python 3 rejects.
; `print >>f, x` is not one of them: Python 3 reads it as a tuple expression.
((print_statement) @python2.print
  (#not-match? @python2.print "^print[ \t]*>>"))
(exec_statement) @python2.exec
