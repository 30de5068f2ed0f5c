class Action:
    def __call__(self):
        target()

class Noop:
    def __call__(self):
        return None

def target(): pass

def f():
    run = Action()
    run()

def clean():
    run = Noop()
    run()
