class V:
    def __radd__(self, other):
        target()
        return self

def target(): pass

def f():
    return 1 + V()

def clean():
    return 1 + 1
