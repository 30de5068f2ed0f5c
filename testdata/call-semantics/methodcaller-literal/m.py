import operator

class C:
    def go(self):
        target()

    def stay(self):
        return None

def target(): pass

def f():
    operator.methodcaller("go")(C())

def clean():
    operator.methodcaller("stay")(C())
