class Lazy:
    def __getattr__(self, name):
        target()

    present = 1

def target(): pass

def f():
    return Lazy().anything

def clean():
    return Lazy().present
