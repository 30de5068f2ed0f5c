deploy_app = print; deploy_app("BOM on line 1")
import os


def main():
    os.environ.get("X")
    return deploy_app(run := 1), run
