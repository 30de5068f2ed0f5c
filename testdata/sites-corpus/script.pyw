deploy_app("pyw is not *.py")
