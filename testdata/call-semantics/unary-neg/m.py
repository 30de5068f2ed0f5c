class V:
    def __neg__(self):
        target()

def target(): pass

def f():
    return -V()

def clean():
    return -1
