deploy_app("venv must be skipped")
run(1)
get(2)
