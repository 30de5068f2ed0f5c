def register(cls):
    target()
    return cls

def keep(cls):
    return cls

def target(): pass

def f():
    @register
    class C:
        pass
    return C

def clean():
    @keep
    class C:
        pass
    return C
