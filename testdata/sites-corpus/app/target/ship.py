from app import core


def ship(env):
    core.deploy_app(env)
    return run(get(env))
