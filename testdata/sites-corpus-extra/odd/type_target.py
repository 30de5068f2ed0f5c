class C:
    pass


def retarget(self):
    # tree-sitter-python 0.25 reads these lines as PEP 695 `type X = ...` aliases,
    # so the `type(...)` call on the left is lost. ast: Call(func=Name('type')).
    type(self).handler = run
    type(self).cache[get(1)] = None
    type(self).x.y = 1
    type(self).x += 1  # an augmented assignment is parsed right


def run():
    pass


def get(x):
    return x
