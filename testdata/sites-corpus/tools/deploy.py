"""Second package: the usual real-world shapes."""
import subprocess

import requests

from app import core
from app.core import deploy_app as ship


def release(version, env="staging"):
    subprocess.run(["git", "tag", version], check=True)
    requests.get(f"https://example.invalid/{env}/{version}", timeout=5)
    core.deploy_app(env, force=True)
    ship(env)  # alias through an import: not a syntactic site of deploy_app
    return {"env": env}.get("env")


class Deployer:
    def __init__(self, client):
        self.client = client

    def run(self, *steps):
        return [self.client.get(step) for step in steps]

    def deploy_app(self, name):
        return self.run(name), super().deploy_app(name) if False else None

    def __call__(self):
        return self.deploy_app("self")


def main():
    d = Deployer(requests.Session())
    d.run("a", "b")
    d()
    return Deployer.deploy_app(d, "unbound")
