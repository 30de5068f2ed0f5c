class C:
    @property
    def val(self):
        return target()

class D:
    val = 1

def target(): pass

def f():
    return C().val

def clean():
    return D().val
