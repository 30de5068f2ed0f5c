class A:
    @classmethod
    def make(cls):
        target()

    @classmethod
    def quiet(cls):
        return None

    def go(self):
        type(self).make()

    def calm(self):
        type(self).quiet()

def target(): pass

def f():
    A().go()

def clean():
    A().calm()
