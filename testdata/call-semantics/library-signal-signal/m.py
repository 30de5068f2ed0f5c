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
    signal.signal(signal.SIGTERM, g)

def clean():
    signal.signal(signal.SIGTERM, h)
