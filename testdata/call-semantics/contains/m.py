class Bag:
    def __contains__(self, item):
        target()
        return True

def target(): pass

def f():
    return 1 in Bag()

def clean():
    return 1 in [1, 2]
