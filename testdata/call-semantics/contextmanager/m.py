import contextlib

@contextlib.contextmanager
def cm():
    yield 1
    target()

@contextlib.contextmanager
def quiet():
    yield 1

def target(): pass

def f():
    with cm():
        pass

def clean():
    with quiet():
        pass
