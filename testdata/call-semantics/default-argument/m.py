def target(): pass

def other(): pass

def g(action=target):
    action()

def h(action=other):
    action()

def f():
    g()

def clean():
    h()
