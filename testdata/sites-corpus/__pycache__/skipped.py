deploy_app("__pycache__ must be skipped")
run(1)
get(2)
