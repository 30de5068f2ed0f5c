class Table:
    def __getitem__(self, key):
        target()

def target(): pass

def f():
    t = Table()
    return t[0]

def clean():
    t = {0: 1}
    return t[0]
