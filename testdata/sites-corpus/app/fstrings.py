from app.core import deploy_app


def run(x=None):
    return x


def get(x=None, y=None):
    return x


def fstrings(x, obj, width):
    a = f"{deploy_app(x)}"
    b = f"deploy_app(x) is text, {deploy_app(x)} is a call"
    c = f"{{deploy_app(x)}} is escaped braces, not a call"
    d = f"{{{deploy_app(x)}}} has a real call inside escaped braces"
    e = f"{x!r:>{get(width)}} {obj.run()!s} {run(x)=}"
    g = f"{f'{deploy_app(x)}'}"
    h = f'{obj["run"]} {obj.get("k", get("d"))}'
    i = "plain " f"{run(1)}" " concatenated " F"{get(2)}"
    j = rf"\d{deploy_app(x)}\n" + fr"{run()}"
    k = f"""
    {deploy_app(x)}
        text run() text
    {obj.get(
        1,
    )}
    """
    m = f"{x:{run()}.{get()}}"
    n = f"{ deploy_app(x) }" f"{	run(x)}"
    o = "{deploy_app(x)}".format(deploy_app=x)
    p = f"{'deploy_app(x)'} {get('x')!r}"
    q = f"{lambda_result(lambda: run(x))}"
    return a, b, c, d, e, g, h, i, j, k, m, n, o, p, q


def lambda_result(fn):
    return fn()


LOG = f"module level {deploy_app('m')} and {get()}"
