class V:
    def __iadd__(self, other):
        target()
        return self

def target(): pass

def f():
    v = V()
    v += 1

def clean():
    n = 0
    n += 1
