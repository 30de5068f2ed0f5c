"""Core module.

This docstring talks about deploy_app(x), run(cmd) and obj.get(key):
none of them are calls.
"""
import subprocess


def deploy_app(target, *, force=False):
    """deploy_app(target) -- docstring, not a call."""
    # deploy_app(target) in a comment
    return subprocess.run(["echo", target], check=False)


def plain():
    deploy_app("prod")
    deploy_app ("spaced")
    x = "deploy_app(x)"
    y = 'run(y)'
    z = b"get(z)"
    w = r"deploy_app(\w)"
    t = """
    deploy_app(inside_triple)
    run()
    """
    return x, y, z, w, t


def attributes(obj, client):
    obj.deploy_app(1)
    obj.a.b.c.deploy_app(2)
    client.get("url").json()
    client . get ("url")
    obj.deploy_app
    return obj.run


def chained(a):
    a.b().deploy_app()
    a.deploy_app().deploy_app()
    get(1).get(2).get(3)
    a.run()(1)
    deploy_app(1)(2)(3)


def parenthesised(obj):
    (deploy_app)(1)
    ((deploy_app))(2)
    (obj.deploy_app)(3)
    (obj).run(4)
    (
        deploy_app
    )(5)


def not_calls(obj, table):
    table["deploy_app"](1)
    table[0](deploy_app)
    print(deploy_app, obj.run, obj.get)
    return [deploy_app, run_later]


def starred(a, rest):
    first = [*deploy_app(1)]
    both = {*run(2), *a.get(3)}
    flat = *get(4), 5
    print(*rest, *run(6))
    for item in *deploy_app(7), 8:
        pass
    return [*a.b.run(9)], [x for x in [*get(10)]], first, both, flat, item


def run_later():
    pass


def multiline(obj):
    deploy_app(
        "a",
        force=True,
    )
    obj.deploy_app(
        1)
    result = obj \
        .run(2)
    other = \
        get(3)
    (obj
        .deploy_app(4))
    obj.get(  # trailing comment get(5)
        6,
    )
    return result, other


def nested():
    return deploy_app(run(get(deploy_app(1))))


def aliases():
    d = deploy_app
    d(1)
    e = d
    e(2)
    f = subprocess.run
    f(["true"])
    return getattr(subprocess, "run")(["true"])


@deploy_app
def bare_decorated():
    """A bare decorator is not an ast.Call."""
