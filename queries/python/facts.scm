; Per-file facts. Each capture names what the extractor records; the extractor reads the
; captured node's fields itself. Captures are consumed in document order.

; Scopes: a scope's own code is its body; decorators, defaults and bases belong outside.
(function_definition
  name: (identifier) @scope.function.name
  body: (block) @scope.function.body) @scope.function

(class_definition
  name: (identifier) @scope.class.name
  body: (block) @scope.class.body) @scope.class

(lambda
  body: (_) @scope.lambda.body) @scope.lambda

; Every call, wherever it is: statements, decorators, defaults, f-strings, comprehensions.
(call) @call

; A bare decorator `@dec` calls `dec(f)` although no call is written.
(decorator) @decorator

; Operators, subscripts and attribute reads also call project code (`__add__`, property
; getters): the extractor finds those nodes with a plain walk of the tree (`IMPLICIT_KINDS`),
; not here: a query over them is quadratic in their nesting (`a + b + ... + z`).

; Name bindings.
(assignment) @bind.assign
(augmented_assignment) @bind.augmented
(named_expression) @bind.walrus
(for_statement) @bind.for
(for_in_clause) @bind.for
(with_item) @bind.with
(except_clause) @bind.except

(import_statement) @import
(import_from_statement) @import.from

(global_statement) @declare.global
(nonlocal_statement) @declare.nonlocal

; Values leaving a function.
(return_statement) @return
(yield) @return

; Where a call may not run when its statement runs (for `Call::certain`), and
; comprehensions (a loop around the calls inside).
(conditional_expression) @context.conditional
(boolean_operator right: (_) @context.short_circuit)
[(list_comprehension) (set_comprehension) (dictionary_comprehension) (generator_expression)] @context.comprehension
