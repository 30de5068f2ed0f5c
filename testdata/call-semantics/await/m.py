async def k():
    target()

async def calm():
    return None

def target(): pass

async def f():
    await k()

async def clean():
    await calm()
