def gen():
    target()
    yield 1

def quiet():
    yield 1

def target(): pass

def f():
    for x in gen():
        pass

def clean():
    for x in quiet():
        pass
