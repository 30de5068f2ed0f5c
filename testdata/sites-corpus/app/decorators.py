import functools
from app.core import deploy_app


def run(*a, **k):
    return a, k


def get(*a, **k):
    return a, k


@deploy_app("decorator")
def f1():
    pass


@functools.wraps(run)
@ app.core.deploy_app(force=True)
@(lambda fn: run(fn))
def f2(a=deploy_app(1), *, b=get(2), c=lambda: run(3)) -> get("return"):
    pass


def f3(x: run("annotation") = None, *args: get("star"), **kw: deploy_app("kw")):
    pass


class Base(deploy_app("base"), metaclass=get("meta")):
    attr = run("class body")
    other: get("ann") = deploy_app("value")
    items = [run(i) for i in range(3)]
    lookup = {get(k): deploy_app(v) for k, v in {}.items()}
    gen = (run(x) for x in get("it") if deploy_app(x))
    nested = [[get(a, b) for a in run()] for b in deploy_app()]
    fn = staticmethod(lambda self=run(): get(self))

    @property
    @get("prop")
    def prop(self):
        return self.deploy_app(self.run(), key=self.get())

    class Inner:
        x = deploy_app(deploy_app(deploy_app()))


def keywords():
    return dict(a=run(1), b=get(2), **deploy_app(3)), [*run(4)], {**get(5)}


def operators(x):
    return -run(x) + get(x) * deploy_app(x) if not run(x) else get(x) or deploy_app(x)


squares = set(map(lambda v: run(v) ** 2, get(range(3))))
