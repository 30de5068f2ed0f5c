class It:
    def __iter__(self):
        target()
        return iter([])

def target(): pass

def f():
    return [x for x in It()]

def clean():
    return [x for x in (1, 2)]
