"""A module with CRLF line endings."""
from app.core import deploy_app


def run(x):
    return x


def handler(event, client):
    deploy_app(event)
    text = """multi-line string
    deploy_app(not_a_call)
    """
    client.get(
        "url",
    )
    return run(text), f"""
{deploy_app(event)}"""


get = run
value = get(1)  # not an alias of anything named get: a real `get(...)` site
