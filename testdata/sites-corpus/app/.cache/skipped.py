deploy_app("app/.cache must be skipped")
run(1)
get(2)
