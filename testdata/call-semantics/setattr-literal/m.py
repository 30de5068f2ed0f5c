import a

def target(): pass

def f():
    setattr(a, "noop", target)
    a.run()

def clean():
    a.calm()
