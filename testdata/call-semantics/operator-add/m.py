class V:
    def __add__(self, other):
        target()
        return self

def target(): pass

def f():
    a = V()
    return a + a

def clean():
    return 1 + 2
