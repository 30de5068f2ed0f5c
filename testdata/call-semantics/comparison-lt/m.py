class V:
    def __lt__(self, other):
        target()
        return True

def target(): pass

def f():
    return V() < 1

def clean():
    return 1 < 2
