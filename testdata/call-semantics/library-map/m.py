import atexit
import concurrent.futures
import functools
import signal
import threading

def g(*args):
    target()

def h(*args):
    return None

def target(): pass

def f():
    list(map(g, [1]))

def clean():
    list(map(h, [1]))
