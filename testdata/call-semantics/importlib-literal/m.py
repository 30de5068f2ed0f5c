import importlib

def f():
    importlib.import_module("a").target()

def clean():
    importlib.import_module("b").other()
