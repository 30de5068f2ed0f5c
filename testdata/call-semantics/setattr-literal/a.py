def noop(): pass

def run():
    noop()

def calm():
    return None
