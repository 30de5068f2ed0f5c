; Valid Python that tree-sitter-python reads as something else.
; `type(self).x = v` is an assignment to an attribute of `type(self)`; tree-sitter-python
; 0.25 reads it as a PEP 695 alias `type NAME = v`, losing the call and the store. A real
; alias has a name after the soft keyword `type`, never `(`, `.` or `[`.
((type_alias_statement) @misread.type_alias
  (#match? @misread.type_alias "^type[ \t]*[(.\\[]"))
