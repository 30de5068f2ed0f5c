def target(): pass

def other(): pass

def f():
    globals()["target"]()

def clean():
    globals()["other"]()
