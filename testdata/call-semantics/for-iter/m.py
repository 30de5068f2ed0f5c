class It:
    def __iter__(self):
        target()
        return iter([])

def target(): pass

def f():
    for x in It():
        pass

def clean():
    for x in [1, 2]:
        pass
