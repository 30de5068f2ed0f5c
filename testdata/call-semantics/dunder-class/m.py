class A:
    @classmethod
    def make(cls):
        target()

    @classmethod
    def quiet(cls):
        return None

    def go(self):
        self.__class__.make()

    def calm(self):
        self.__class__.quiet()

def target(): pass

def f():
    A().go()

def clean():
    A().calm()
