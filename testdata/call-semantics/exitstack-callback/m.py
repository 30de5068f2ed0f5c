import contextlib

def target(): pass

def other(): pass

def f():
    with contextlib.ExitStack() as stack:
        stack.callback(target)

def clean():
    with contextlib.ExitStack() as stack:
        stack.callback(other)
