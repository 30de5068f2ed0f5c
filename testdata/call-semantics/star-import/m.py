from a import *

def target_alias():
    return None

def f():
    target()

def clean():
    other()
