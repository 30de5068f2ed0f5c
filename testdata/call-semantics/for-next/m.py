class It:
    def __iter__(self):
        return self

    def __next__(self):
        target()
        raise StopIteration

class Counter:
    def __iter__(self):
        return iter(range(3))

def target(): pass

def f():
    for x in It():
        pass

def clean():
    for x in Counter():
        pass
