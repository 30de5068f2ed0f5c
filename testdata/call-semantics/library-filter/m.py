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
    list(filter(g, [1]))

def clean():
    list(filter(h, [1]))
