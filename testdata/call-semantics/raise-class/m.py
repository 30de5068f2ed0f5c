class E(Exception):
    def __init__(self):
        super().__init__()
        target()

class Plain(Exception):
    pass

def target(): pass

def f():
    raise E

def clean():
    raise Plain
