class Table:
    def __setitem__(self, key, value):
        target()

    def __getitem__(self, key):
        return 1

def target(): pass

def f():
    t = Table()
    t[0] = 1

def clean():
    t = Table()
    return t[0]
