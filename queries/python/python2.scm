; Python 2 statements that tree-sitter-python still accepts but Python 3 rejects.
(print_statement) @python2.print
(exec_statement) @python2.exec
