def target(): pass

def other(): pass

def f():
    d = dict(run=target)
    d["run"]()

def clean():
    d = dict(run=target, stay=other)
    return d
