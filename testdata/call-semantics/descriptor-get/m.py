class Deployer:
    def __get__(self, obj, owner=None):
        target()

class C:
    d = Deployer()
    plain = 1

def target(): pass

def f():
    return C().d

def clean():
    return C().plain
