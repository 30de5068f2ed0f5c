deploy_app(".hidden must be skipped")
run(1)
get(2)
