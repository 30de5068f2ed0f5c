import functools

class C:
    @functools.cached_property
    def val(self):
        return target()

    def plain(self):
        return target()

def target(): pass

def f():
    c = C()
    return c.val

def clean():
    c = C()
    return c.plain
