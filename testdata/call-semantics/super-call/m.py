class A:
    def run(self):
        target()

class B(A):
    def run(self):
        super().run()

class Q:
    def run(self):
        return None

def target(): pass

def f():
    B().run()

def clean():
    Q().run()
