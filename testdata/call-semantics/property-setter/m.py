class C:
    @property
    def val(self):
        return 1

    @val.setter
    def val(self, v):
        target()

class D:
    @property
    def val(self):
        return 1

    @val.setter
    def val(self, v):
        pass

def target(): pass

def f():
    c = C()
    c.val = 3

def clean():
    d = D()
    d.val = 3
