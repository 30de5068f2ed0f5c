import a

def target(): pass

def f():
    a.noop = target
    a.run()

def clean():
    a.calm()
