from app.core import deploy_app
# a comment with a bare carriage returndeploy_app('after a lone CR in a comment')
x = 1deploy_app('after a lone CR between statements')
def get(v):    return vy = get(2)
deploy_app(get(3))
