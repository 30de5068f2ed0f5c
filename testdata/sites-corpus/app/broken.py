from app.core import deploy_app

deploy_app('before the error')

def broken(:
    deploy_app('inside the error')

run('after the error')
