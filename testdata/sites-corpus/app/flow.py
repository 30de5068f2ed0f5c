import asyncio

from app.core import deploy_app


class run:
    def __init__(self, *a):
        self.a = a


def get(x=None):
    return x


def matching(command, obj):
    match deploy_app(command):
        case run():
            return get("class pattern above is not a call")
        case obj.get(value=1):
            return run(1)
        case [run(), *rest] if deploy_app(rest):
            return get(rest)
        case {"k": get()}:
            pass
        case str() | bytes():
            deploy_app("str")
        case _:
            match get(obj):
                case 1:
                    run("nested match")


def match_soft_keyword(match, case):
    match = run(match)
    case = get(case)
    return match.deploy_app(case)


async def coroutines(session, urls):
    await deploy_app("await")
    resp = await session.get("url")
    async with session.run() as conn, get(conn) as other:
        await conn.deploy_app(other)
    async for item in session.get(urls):
        yield run(item)
    results = [await session.get(u) async for u in urls]
    await asyncio.gather(*(session.get(u) for u in urls))
    yield results, resp


def walrus(data):
    if (n := deploy_app(data)) > 1:
        return n
    while chunk := data.get(1024):
        run(chunk)
    return [y for x in data if (y := get(x))]


def statements(x):
    assert run(x), get(x)
    with deploy_app(x) as a, run(x):
        pass
    try:
        raise deploy_app(x) from get(x)
    except run(x) as exc:
        del exc
    finally:
        x[run():get():deploy_app()] = get(x)
    for i in run(x):
        yield deploy_app(i)
    yield from get(x)
    global LOG
    LOG = run(x) if get(x) else deploy_app(x)
    return None


LOG = None
