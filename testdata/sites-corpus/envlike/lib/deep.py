deploy_app("inside a venv")
