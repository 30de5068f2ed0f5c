import asyncio

async def k():
    target()

async def calm():
    return None

def target(): pass

def f():
    asyncio.run(k())

def clean():
    asyncio.run(calm())
